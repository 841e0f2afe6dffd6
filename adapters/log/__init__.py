"""The log: segmented file log, its format and readers, snapshots, the EventLog port."""
