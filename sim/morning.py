"""The synthetic morning: stations, workers, employers, postings, check-ins and replies.

Owns: a seeded, reproducible generator of the commands of one market morning in real
cities from the policy documents, and the simulated people who answer offers (accept,
decline, ignore), arrive, finish, get paid or complain. Most employers pay the agreed
total; some pay half first, most of those the rest later (`sim.replies`). The demo, the tests and the
benchmarks all use this one generator.

The peak crowd (`Morning(crowd=Crowd())`, see `Crowd`): check-ins peaking 05:30-07:30,
postings as a Poisson process peaking 06:00-07:30, an age mix skewed older, crowds
clustered at stations and around homes. Without `crowd` the timeline is the original one
(same draws, same stream). `bulk_workers` and `crowd_arrivals` build a population of
millions as pre-decided `WorkerRegistered` / `WorkerCheckedIn` facts with numpy, for the
scaling benchmarks (`bench.morning_bench`), far faster than generating and deciding
commands.

Invariants: the same (seed, date, scale, sizes, crowd) gives the same command stream and,
fed through the engine, the same log (the numpy draws also need the same numpy version).
Times are epoch ms of the morning's date in Asia/Shanghai. Only synthetic personal data
(valid-format IDs and mobiles).

Limits: `MAX_WORKERS` registered workers per generated morning; responses are scheduled
only for offers and hires the engine actually made. Every generated point is in mainland
China (`engine.geo.in_china`): a draw around a coastal city that lands in the sea stays at
its anchor (city centre, station or home) instead.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
from collections.abc import Iterator
from typing import NamedTuple

import msgspec
import numpy as np

from engine import commands as c
from engine import events as e
from engine.geo import MAINLAND, in_china
from engine.idnumbers import id_check_char, uscc_check_char
from engine.reference import regions
from sim.replies import HOUR_MS, MIN_MS, Replies

MAX_WORKERS = 20_000_000

# name, region code (city), centre (lat, lng, WGS-84), province
CITIES: tuple[tuple[str, str, float, float, str], ...] = (
    ("襄阳", "420600", 32.0090, 112.1220, "湖北"),
    ("武汉", "420100", 30.5930, 114.3050, "湖北"),
    ("宜昌", "420500", 30.6920, 111.2860, "湖北"),
    ("临汾", "141000", 36.0880, 111.5190, "山西"),
    ("太原", "140100", 37.8700, 112.5490, "山西"),
    ("泉州", "350500", 24.8740, 118.6760, "福建"),
    ("福州", "350100", 26.0740, 119.2960, "福建"),
    ("南宁", "450100", 22.8170, 108.3660, "广西"),
    ("柳州", "450200", 24.3260, 109.4280, "广西"),
    ("桂林", "450300", 25.2740, 110.2900, "广西"),
    ("济南", "370100", 36.6510, 117.1200, "山东"),
    ("青岛", "370200", 36.0670, 120.3830, "山东"),
    ("潍坊", "370700", 36.7070, 119.1620, "山东"),
)
SCALES = {"city": 1, "province": 3, "nation": len(CITIES)}

# skill code, Chinese title, local daily pay level (fen)
SKILLS: tuple[tuple[str, str, int], ...] = (
    ("construction", "建筑小工", 25000),
    ("moving", "搬家工", 30000),
    ("housekeeping", "家政保洁", 20000),
    ("delivery", "配送员", 22000),
    ("loading", "装卸工", 28000),
    ("cleaning", "保洁", 18000),
    ("cooking", "厨房帮工", 20000),
    ("security", "临时保安", 18000),
    ("gardening", "绿化养护", 19000),
    ("factory", "普工", 21000),
)
OPERATOR_ID = "sim-operator"  # sim.callers.OPERATOR, who runs the demo's station commands
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强春梅红"
MODES = ("walk", "bike", "ebike", "bus", "car")
MODE_WEIGHTS = (0.35, 0.15, 0.35, 0.1, 0.05)


class Sizes(msgspec.Struct, frozen=True, kw_only=True):
    stations_per_city: int = 6
    workers: int = 2000
    employers: int = 120
    postings: int = 400
    tick_ms: int = 10_000


class Crowd(msgspec.Struct, frozen=True, kw_only=True):
    """The peak-morning crowd model (`Morning(crowd=Crowd())`).

    Check-ins: `turnout` of the registered workers come; `early_share` of them between
    05:00 and 05:30, `late_share` between 07:30 and 10:00, the rest in the 05:30-07:30
    peak (a Beta(2, 2) hump centred on 06:30). `app_share` check in by app near home
    (Gaussian, `app_sd_km`) for 3-6 h; the others at their home station for the day.
    Postings: a Poisson process from 05:30 to 11:00 whose rate is `peak_factor` times
    higher from 06:00 to 07:30; its expected count is `Sizes.postings`. Registered
    workers (both paths) are born mostly in 1958-1978 (大龄 skew) and live around their
    home station (1.5 km Gaussian); stations sit around the city centre (6 km).
    """

    turnout: float = 0.85
    early_share: float = 0.10
    late_share: float = 0.15
    app_share: float = 0.30
    app_sd_km: float = 0.3
    peak_factor: float = 4.0
    bell: bool = True


class Arrivals(NamedTuple):
    """Check-ins of one morning, by time: numpy columns of equal length."""

    worker: np.ndarray  # index into the population (row order of registration), int64
    ts_ms: np.ndarray  # int64, ascending
    lat: np.ndarray
    lng: np.ndarray
    station: np.ndarray  # station index, -1 for a check-in by app
    until_ms: np.ndarray  # available until (ms)


BIRTH_DECADES = (1958, 1965, 1972, 1980, 1990, 2000)  # + 0..6 years
BIRTH_WEIGHTS = (2, 3, 3, 2, 1, 1)
MIN_PAYS_FEN = (12000, 15000, 18000, 20000)


def local_midnight_ms(date: str) -> int:
    d = dt.date.fromisoformat(date)
    midnight = dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return int(midnight.timestamp() * 1000)


def make_id_number(rng: random.Random, region: str, birth_year: int) -> str:
    """A synthetic 公民身份号码 with a valid check character."""
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    body = f"{region}{birth_year:04d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    return body + id_check_char(body)


def make_uscc(rng: random.Random, region: str) -> str:
    """A synthetic 统一社会信用代码 (registered with 工商, enterprise) with a valid check."""
    body = "91" + region + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc_check_char(body)


def _offset(rng: random.Random, lat: float, lng: float, sd_km: float) -> tuple[float, float]:
    """A point around the anchor (lat, lng) in mainland China.

    Where the draw lands in the sea or abroad (which `check_point` refuses), the anchor
    itself: no extra draw, so the random stream is the same as without the check.
    """
    dlat = rng.gauss(0.0, sd_km) / 111.0
    dlng = rng.gauss(0.0, sd_km) / (111.0 * math.cos(math.radians(lat)))
    out = round(lat + dlat, 6), round(lng + dlng, 6)
    return out if in_china(*out) else (lat, lng)


_MARKS = np.frombuffer(MAINLAND.cells.encode("ascii"), dtype=np.uint8)


def mainland_mask(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    """`engine.geo.in_china` of every point.

    The grid's clean cells are answered by numpy (the same cell arithmetic as
    `PolygonGrid.contains`), points in boundary cells one at a time.
    """
    g = MAINLAND
    out = np.zeros(len(lat), dtype=bool)
    idx = np.flatnonzero(
        (lat >= g.lat_min_deg)
        & (lat <= g.lat_max_deg)
        & (lng >= g.lng_min_deg)
        & (lng <= g.lng_max_deg)
    )
    row = ((lat[idx] - g.lat0_deg) * (1.0 / g.cell_lat_deg)).astype(np.int64)
    col = ((lng[idx] - g.lng0_deg) * (1.0 / g.cell_lng_deg)).astype(np.int64)
    mark = _MARKS[row * g.cols + col]
    out[idx] = mark == ord("#")
    edge = idx[mark == ord("+")]
    out[edge] = [
        in_china(a, b) for a, b in zip(lat[edge].tolist(), lng[edge].tolist(), strict=True)
    ]
    return out


class Morning(Replies):
    """Commands of one morning, plus simulated replies to what the engine decides."""

    def __init__(
        self,
        *,
        seed: int = 7,
        date: str = "2026-11-23",
        scale: str = "city",
        sizes: Sizes | None = None,
        accept_p: float = 0.6,
        decline_p: float = 0.25,
        with_mistakes: bool = True,
        crowd: Crowd | None = None,
        job_prefix: str = "J",
    ) -> None:
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {sorted(SCALES)}")
        self.seed = seed
        self.crowd = crowd
        self.rng = random.Random(seed)
        self.date = date
        self.midnight_ms = local_midnight_ms(date)
        self.sizes = sizes or Sizes()
        if self.sizes.workers > MAX_WORKERS:
            raise ValueError(f"at most {MAX_WORKERS} workers")
        self.cities = CITIES[: SCALES[scale]]
        self.accept_p = accept_p
        self.decline_p = decline_p
        self.with_mistakes = with_mistakes
        self.job_prefix = job_prefix  # another morning into the same log needs new job ids
        self.stations: list[tuple[str, str, float, float]] = []  # id, region, lat, lng
        self.workers: list[tuple[str, int]] = []  # id, home station index
        self.homes: list[tuple[float, float]] = []  # home (lat, lng) of self.workers[i]
        self.employers: list[tuple[str, str]] = []  # id, region
        self._n = 0
        self._pending: list[tuple[int, int, c.Command]] = []
        self._jobs: dict[str, tuple[str, str]] = {}  # job id -> (station, employer)
        self.revoked_station = ""
        self.mistyped: set[str] = set()  # workers whose registration is refused (bad ID)
        # homes of `bulk_workers` (home station index, lat, lng), for `crowd_arrivals`
        self.bulk_home: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.empty(0),) * 3
        self._station_weights: list[int] = []

    # ------------------------------------------------------------ helpers -----------

    def at(self, hh: int, mm: int = 0) -> int:
        return self.midnight_ms + hh * HOUR_MS + mm * MIN_MS

    def _cid(self, kind: str) -> str:
        self._n += 1
        return f"{kind}-{self._n:08d}"

    def _schedule(self, ts_ms: int, cmd: c.Command) -> None:
        heapq.heappush(self._pending, (ts_ms, self._n, cmd))
        self._n += 1

    # ------------------------------------------------------------ setup -------------

    def setup(self) -> Iterator[c.Command]:
        """Reference data registered before the morning (04:00-05:00)."""
        rng, sz = self.rng, self.sizes
        ts = self.at(4)
        yield c.SetPolicy(
            command_id=self._cid("pol"),
            ts_ms=ts,
            region="",
            policy=e.Policy(local_day_pay_fen={code: pay for code, _, pay in SKILLS}),
            note="national default with local pay levels",
        )
        for city, region, lat, lng, _prov in self.cities:
            hub_id = f"ST-{region}-hub"
            for i in range(sz.stations_per_city):
                sid = hub_id if i == 0 else f"ST-{region}-{i:03d}"
                kind = "hub" if i == 0 else ("branch" if i <= 2 else "post")
                parent = "" if i == 0 else (hub_id if kind == "branch" else f"ST-{region}-001")
                counties = regions.children(region) or (region,)
                county = counties[i % len(counties)]  # real GB/T 2260 counties of the city
                slat, slng = (lat, lng) if i == 0 else _offset(rng, lat, lng, 6.0)
                ts += 100
                yield c.RegisterStation(
                    command_id=self._cid("st"),
                    ts_ms=ts,
                    station_id=sid,
                    name=f"{city}{'零工市场' if kind != 'post' else '零工驿站'}{i}",
                    kind=kind,
                    market_type=(
                        "service_point"  # 驿站
                        if kind == "post"
                        else ("industrial_park" if i == 2 else "general")
                    ),
                    parent_id=parent,
                    region=county,
                    location=c.Point(lat=slat, lng=slng),
                    area_m2=rng.randint(80, 2000),
                )
                yield c.ChangeStationStatus(
                    command_id=self._cid("sa"), ts_ms=ts + 1, station_id=sid, status="approved"
                )
                self.stations.append((sid, county, slat, slng))
        for i in range(sz.employers):
            _, region, _, _ = self.stations[i % len(self.stations)]
            eid = f"E{i:06d}"
            org = rng.random() < 0.6
            ts += 10
            yield c.RegisterEmployer(
                command_id=self._cid("em"),
                ts_ms=ts,
                employer_id=eid,
                kind="organisation" if org else "person",
                name=(f"{rng.choice(SURNAMES)}记劳务有限公司{i}" if org else self._name()),
                uscc=make_uscc(rng, region) if org else "",
                region=region,
                contact=c.Personal(name=self._name(), mobile=self._mobile()),
            )
            self.employers.append((eid, region))
        self._station_weights = [3 if s[0].endswith("-hub") else 1 for s in self.stations]
        for i in range(sz.workers):
            home = rng.choices(range(len(self.stations)), self._station_weights)[0]
            _, region, slat, slng = self.stations[home]
            wid = f"W{i:07d}"
            birth = rng.choices((1958, 1965, 1972, 1980, 1990, 2000), (2, 3, 3, 2, 1, 1))[0]
            birth += rng.randint(0, 6)
            id_number = make_id_number(rng, region, birth)
            if self.with_mistakes and rng.random() < 0.01:  # a mistyped ID number: refused
                id_number = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")
                self.mistyped.add(wid)
            hlat, hlng = _offset(rng, slat, slng, 1.5)
            skills = tuple(sorted({s[0] for s in rng.choices(SKILLS, k=rng.randint(1, 3))}))
            ts += 1
            yield c.RegisterWorker(
                command_id=self._cid("wr"),
                ts_ms=ts,
                worker_id=wid,
                region=region,
                personal=c.Personal(name=self._name(), mobile=self._mobile(), id_number=id_number),
                skills=skills,
                min_pay_fen=rng.choice((12000, 15000, 18000, 20000)),
                priority_group="hardship" if rng.random() < 0.08 else "",
                home=c.Point(lat=hlat, lng=hlng),
                travel_mode=rng.choices(MODES, MODE_WEIGHTS)[0],  # type: ignore[arg-type]
                push_opt_in=rng.random() < 0.5,
            )
            self.workers.append((wid, home))
            self.homes.append((hlat, hlng))

    def _name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choice(GIVEN) for _ in range(self.rng.randint(1, 2))
        )

    def _mobile(self) -> str:
        return (
            "1" + self.rng.choice("3578") + "".join(self.rng.choice("0123456789") for _ in range(9))
        )

    # ------------------------------------------------------------ the morning -------

    def timeline(self) -> list[tuple[int, c.Command]]:
        """Check-ins, postings, a revoked station and ticks, sorted by time."""
        if self.crowd is not None:
            return self.crowd_timeline()
        rng, sz = self.rng, self.sizes
        out: list[tuple[int, c.Command]] = []
        for wid, home in self.workers:
            if rng.random() < 0.15:
                continue  # stays home today
            t = int(self.at(6, 30) + rng.gauss(0, 25) * MIN_MS)
            t = max(self.at(5, 0), min(t, self.at(10, 0)))
            sid, _, slat, slng = self.stations[home]
            if rng.random() < 0.7:
                cmd = c.CheckIn(command_id=self._cid("ci"), ts_ms=t, worker_id=wid, station_id=sid)
            else:
                lat, lng = _offset(rng, slat, slng, 1.0)
                cmd = c.CheckIn(
                    command_id=self._cid("ci"),
                    ts_ms=t,
                    worker_id=wid,
                    location=c.Point(lat=lat, lng=lng),
                    available_until_ms=t + rng.randint(3, 6) * HOUR_MS,
                )
            out.append((t, cmd))
        for j in range(sz.postings):
            u = rng.random()
            # a busy peak between 06:00 and 08:00, a tail until 11:00
            t = (
                self.at(6) + int(2 * HOUR_MS * u)
                if rng.random() < 0.7
                else self.at(5) + int(6 * HOUR_MS * u)
            )
            out.append((t, self.posting(j, t)))
        self._revoke_bell_ticks(out, bell=True)
        out.extend(self.training_timeline())
        out.sort(key=lambda item: item[0])
        return out

    def training_timeline(self) -> list[tuple[int, c.Command]]:
        """Each hub's training session of the day (08:00 published, 14:00-16:00), sign-ups
        of about one worker in eight of its city by counter, app or SMS, and completions
        of about two in three at 16:00; one Q&A entry per hub. Drawn from its own random
        stream and ids, so the rest of the morning is exactly as without it."""
        rng = random.Random(f"training-{self.seed}-{self.date}")
        out: list[tuple[int, c.Command]] = []
        hubs = [s[0] for s in self.stations if s[0].endswith("-hub")]
        n = 0
        for sid in hubs:
            code, name, _ = SKILLS[rng.randrange(len(SKILLS))]
            tid = f"TR-{self.date}-{sid}"
            t_pub = self.at(8)
            out.append((t_pub, c.PublishTraining(
                command_id=f"tr-{sid}-{self.date}", ts_ms=t_pub, training_id=tid, station_id=sid,
                title=f"{name}岗前技能培训", skill=code, start_ms=self.at(14), end_ms=self.at(16),
                capacity=60, address=f"{sid}培训室", staff_id=OPERATOR_ID,
            )))  # fmt: skip
            out.append((t_pub, c.PublishPolicyAnswer(
                command_id=f"qa-{sid}-{self.date}", ts_ms=t_pub, entry_id=f"QA-{self.date}-{sid}",
                station_id=sid, topic="灵活就业人员社会保险补贴",
                question="就业困难人员灵活就业后，社保补贴怎么申请？",
                answer="持身份证和灵活就业登记到户籍所在地街道社保窗口申请，按季度审核发放。",
                staff_id=OPERATOR_ID,
            )))  # fmt: skip
            city = sid.split("-")[1][:4]
            members = [
                w
                for w, home in self.workers
                if self.stations[home][1].startswith(city) and w not in self.mistyped
            ]
            signed = [w for w in members if rng.random() < 0.125][:60]
            for k, wid in enumerate(signed):
                n += 1
                t = self.at(9) + k * MIN_MS
                channel = ("counter", "app", "sms")[rng.randrange(3)]
                out.append((t, c.SignUpTraining(
                    command_id=f"trs-{n:06d}-{self.date}", ts_ms=t, training_id=tid,
                    worker_id=wid, channel=channel,
                )))  # fmt: skip
                if rng.random() < 0.67:
                    t_done = self.at(16)
                    out.append((t_done, c.CompleteTraining(
                        command_id=f"trc-{n:06d}-{self.date}", ts_ms=t_done, training_id=tid,
                        worker_id=wid, staff_id=OPERATOR_ID,
                    )))  # fmt: skip
        return out

    def posting(self, j: int, t: int) -> c.SubmitJob:
        """Posting number `j` at `t`: station, employer, skill, pay, place and headcount."""
        rng = self.rng
        # city hubs are the busiest markets: three times the postings of a branch or post
        sid, region, slat, slng = rng.choices(self.stations, self._station_weights)[0]
        eid, _ = self.employers[rng.randrange(len(self.employers))]
        code, title, level = SKILLS[rng.randrange(len(SKILLS))]
        pay = int(level * rng.uniform(0.85, 1.3)) // 100 * 100
        if self.with_mistakes and rng.random() < 0.04:
            pay = level // 3 // 100 * 100  # far below the local level: held for review
        start = t + rng.randint(20, 120) * MIN_MS
        lat, lng = _offset(rng, slat, slng, 0.8)
        heads = rng.choices((1, 2, 3, 5, 8), (5, 4, 3, 2, 1))[0]
        job_id = f"{self.job_prefix}{j:07d}"
        self._jobs[job_id] = (sid, eid)
        return c.SubmitJob(
            command_id=self._cid("jb"),
            ts_ms=t,
            job_id=job_id,
            employer_id=eid,
            station_id=sid,
            title=f"{title} {heads}人",
            description=f"{title}，日结，{pay // 100}元/天",
            skill=code,
            headcount=heads,
            pay_fen=pay,
            start_ms=start,
            end_ms=start + rng.randint(4, 9) * HOUR_MS,
            location=c.Point(lat=lat, lng=lng),
            address=f"{sid}附近",
        )

    def _revoke_bell_ticks(self, out: list[tuple[int, c.Command]], *, bell: bool) -> None:
        """A station revoked at 07:45 (with mistakes), the hubs' opening bell, the ticks."""
        sz = self.sizes
        if self.with_mistakes and len(self.stations) > 3 and len(self.workers) >= 3:
            sid = self.stations[-1][0]
            self.revoked_station = sid
            t = self.at(7, 45)
            out.append(
                (
                    t,
                    c.ChangeStationStatus(
                        command_id=self._cid("rv"),
                        ts_ms=t,
                        station_id=sid,
                        status="revoked",
                        reason="场地不合规",
                    ),
                )
            )
            for k in range(3):  # late arrivals at the revoked station: refused
                wid = self.workers[k][0]
                tk = t + (k + 1) * MIN_MS
                out.append(
                    (
                        tk,
                        c.CheckIn(
                            command_id=self._cid("ci"), ts_ms=tk, worker_id=wid, station_id=sid
                        ),
                    )
                )
        # the opening bell: each city's hub collects postings and check-ins from 05:40 and
        # assigns them together when its 20-minute window closes at 06:00
        hubs = [s for s in self.stations if s[0].endswith("-hub")] if bell else []
        for sid, county, _, _ in hubs:
            t = self.at(5, 39)
            policy = e.Policy(
                local_day_pay_fen={code: pay for code, _, pay in SKILLS}, bell_window_ms=20 * MIN_MS
            )
            out.append(
                (t, c.SetPolicy(command_id=self._cid("pol"), ts_ms=t, region=county, policy=policy))
            )
            t = self.at(5, 40)
            out.append((t, c.RingBell(command_id=self._cid("bell"), ts_ms=t, station_id=sid)))
        t = self.at(5)
        while t <= self.at(13):
            out.append((t, c.Advance(command_id=self._cid("tk"), ts_ms=t)))
            t += sz.tick_ms

    # ------------------------------------------------------------ the peak crowd ----

    def crowd_arrivals(
        self, home_station: np.ndarray, home_lat: np.ndarray, home_lng: np.ndarray
    ) -> Arrivals:
        """Who checks in when and where (see `Crowd`), drawn from numpy stream 1."""
        crowd = self.crowd or Crowd()
        g = np.random.default_rng([self.seed, 1])
        come = np.flatnonzero(g.random(len(home_station)) < crowd.turnout)
        m = len(come)
        u = g.random(m)
        early = self.at(5) + g.random(m) * 30 * MIN_MS
        peak = self.at(5, 30) + g.beta(2.0, 2.0, m) * 2 * HOUR_MS
        late = self.at(7, 30) + g.random(m) * 150 * MIN_MS
        ts = np.where(u < crowd.early_share, early, peak)
        ts = np.where(u >= 1.0 - crowd.late_share, late, ts).astype(np.int64)
        app = g.random(m) < crowd.app_share
        st = home_station[come].astype(np.int64)
        s_lat = np.array([s[2] for s in self.stations])[st]
        s_lng = np.array([s[3] for s in self.stations])[st]
        a_lat = np.round(home_lat[come] + g.normal(0.0, crowd.app_sd_km, m) / 111.0, 6)
        a_lng = np.round(
            home_lng[come]
            + g.normal(0.0, crowd.app_sd_km, m) / (111.0 * np.cos(np.radians(home_lat[come]))),
            6,
        )
        ok = mainland_mask(a_lat, a_lng)  # at sea or abroad: at home instead
        a_lat = np.where(ok, a_lat, home_lat[come])
        a_lng = np.where(ok, a_lng, home_lng[come])
        until = np.where(
            app, ts + g.integers(3, 7, m) * HOUR_MS, local_midnight_ms(self.date) + 24 * HOUR_MS - 1
        )
        order = np.argsort(ts, kind="stable")
        return Arrivals(
            worker=come[order].astype(np.int64),
            ts_ms=ts[order],
            lat=np.round(np.where(app, a_lat, s_lat), 6)[order],
            lng=np.round(np.where(app, a_lng, s_lng), 6)[order],
            station=np.where(app, -1, st)[order],
            until_ms=until[order].astype(np.int64),
        )

    def posting_times(self) -> list[int]:
        """A Poisson process of postings (see `Crowd`), drawn from `self.rng`."""
        crowd = self.crowd or Crowd()
        segments = (
            (self.at(5, 30), self.at(6), 1.0),
            (self.at(6), self.at(7, 30), crowd.peak_factor),
            (self.at(7, 30), self.at(11), 1.0),
        )
        if self.sizes.postings <= 0:
            return []
        per_ms = self.sizes.postings / sum((b - a) * f for a, b, f in segments)
        out: list[int] = []
        for start, end, factor in segments:
            t = float(start)
            while True:
                t += self.rng.expovariate(per_ms * factor)
                if t >= end:
                    break
                out.append(int(t))
        return out

    def checkin_command(self, arr: Arrivals, i: int, worker_id: str) -> c.CheckIn:
        """Arrival `i` as a command (a station check-in, or by app at a location)."""
        t = int(arr.ts_ms[i])
        st = int(arr.station[i])
        if st >= 0:
            sid = self.stations[st][0]
            return c.CheckIn(
                command_id=self._cid("ci"), ts_ms=t, worker_id=worker_id, station_id=sid
            )
        return c.CheckIn(
            command_id=self._cid("ci"),
            ts_ms=t,
            worker_id=worker_id,
            location=c.Point(lat=float(arr.lat[i]), lng=float(arr.lng[i])),
            available_until_ms=int(arr.until_ms[i]),
        )

    def crowd_timeline(self) -> list[tuple[int, c.Command]]:
        """The peak crowd's morning for the workers of `setup()`, sorted by time."""
        crowd = self.crowd or Crowd()
        homes = np.array(self.homes, dtype=np.float64).reshape(-1, 2)
        stations = np.array([h for _, h in self.workers], dtype=np.int64)
        arr = self.crowd_arrivals(stations, homes[:, 0], homes[:, 1])
        out: list[tuple[int, c.Command]] = []
        for i in range(len(arr.worker)):
            cmd = self.checkin_command(arr, i, self.workers[int(arr.worker[i])][0])
            out.append((cmd.ts_ms, cmd))
        for j, t in enumerate(self.posting_times()):
            out.append((t, self.posting(j, t)))
        self._revoke_bell_ticks(out, bell=crowd.bell)
        out.sort(key=lambda item: item[0])
        return out

    def bulk_workers(self, n: int, *, chunk: int = 65_536) -> Iterator[list[e.WorkerRegistered]]:
        """`n` registered workers as the facts `RegisterWorker` would give, in chunks.

        Call after `setup()` (stations needed). Worker ids are `B` + 8 digits; the homes
        are kept in `self.bulk_home` (station index, lat, lng) for `crowd_arrivals`.
        Drawn from numpy stream 2; the attribute mix is the one of `setup()`.
        """
        if not 0 <= n <= MAX_WORKERS:
            raise ValueError(f"0 to {MAX_WORKERS} workers")
        g = np.random.default_rng([self.seed, 2])
        weights = np.asarray(self._station_weights, dtype=np.float64)
        home = g.choice(len(self.stations), size=n, p=weights / weights.sum())
        s_lat = np.array([s[2] for s in self.stations])[home]
        s_lng = np.array([s[3] for s in self.stations])[home]
        lat = np.round(s_lat + g.normal(0.0, 1.5, n) / 111.0, 6)
        lng = np.round(s_lng + g.normal(0.0, 1.5, n) / (111.0 * np.cos(np.radians(s_lat))), 6)
        ok = mainland_mask(lat, lng)  # at sea or abroad: at the station instead
        lat, lng = np.where(ok, lat, s_lat), np.where(ok, lng, s_lng)
        self.bulk_home = (home, lat, lng)
        bw = np.asarray(BIRTH_WEIGHTS, dtype=np.float64)
        birth = np.asarray(BIRTH_DECADES)[g.choice(len(bw), size=n, p=bw / bw.sum())]
        birth = birth + g.integers(0, 7, n)
        n_skills = g.integers(1, 4, n)
        skill_draws = g.integers(0, len(SKILLS), (n, 3))
        min_pay = np.asarray(MIN_PAYS_FEN)[g.integers(0, len(MIN_PAYS_FEN), n)]
        hardship = g.random(n) < 0.08
        mw = np.asarray(MODE_WEIGHTS)
        mode = g.choice(len(MODES), size=n, p=mw / mw.sum())
        push = g.random(n) < 0.5
        ts = self.at(4, 30)
        for lo in range(0, n, chunk):
            batch: list[e.WorkerRegistered] = []
            for i in range(lo, min(n, lo + chunk)):
                codes = sorted({SKILLS[int(k)][0] for k in skill_draws[i, : n_skills[i]]})
                wid = f"B{i:08d}"
                batch.append(
                    e.WorkerRegistered(
                        ts_ms=ts,
                        cmd_id="bulk-" + wid,
                        worker_id=wid,
                        region=self.stations[int(home[i])][1],
                        skills=tuple(codes),
                        min_pay_fen=int(min_pay[i]),
                        birth_year=int(birth[i]),
                        priority_group="hardship" if hardship[i] else "",
                        home_lat=float(lat[i]),
                        home_lng=float(lng[i]),
                        travel_mode=MODES[int(mode[i])],  # type: ignore[arg-type]
                        push_opt_in=bool(push[i]),
                    )
                )
            yield batch

    def commands(self) -> Iterator[c.Command]:
        """Setup and timeline without replies (for fold and log benchmarks)."""
        yield from self.setup()
        for _, cmd in self.timeline():
            yield cmd
