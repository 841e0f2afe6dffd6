# lingong engine with the embedded file log; data lives in /data (mount a volume).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY engine ./engine
COPY adapters ./adapters
COPY replay ./replay
COPY bench ./bench
COPY sim ./sim
COPY lingong ./lingong
RUN pip install --no-cache-dir . && useradd --system --home /data lingong && mkdir -p /data && chown lingong /data
USER lingong
# a server that runs for weeks: the C allocator returns what records that left freed
ENV PYTHONMALLOC=malloc
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["lingong"]
CMD ["serve", "--data", "/data", "--host", "0.0.0.0", "--port", "8080"]
