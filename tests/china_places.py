"""Places on either side of mainland China's boundary, WGS-84 (lat, lng) degrees.

Shared by tests/unit/test_china_land.py and tools/build_china_land.py (which refuses to
write a boundary that puts any of them on the wrong side). Border points are picked in
the built-up area of each town at least ~1 km from the Natural Earth 1:10m line, the
data's own accuracy (a few hundred metres).
"""

from __future__ import annotations

ACCEPT: dict[str, tuple[float, float]] = {
    "北京 Beijing": (39.9087, 116.3975),
    "上海 Shanghai": (31.2304, 121.4737),
    "拉萨 Lhasa": (29.65, 91.13),
    "乌鲁木齐 Urumqi": (43.83, 87.62),
    # next to Hong Kong and Macao
    "深圳福田 Shenzhen Futian": (22.53, 114.05),
    "深圳罗湖 Shenzhen Luohu": (22.55, 114.12),
    "深圳盐田 Shenzhen Yantian": (22.56, 114.24),
    "深圳蛇口 Shenzhen Shekou": (22.48, 113.91),
    "珠海 Zhuhai": (22.27, 113.55),
    "珠海拱北 Zhuhai Gongbei": (22.225, 113.55),
    "珠海横琴 Zhuhai Hengqin": (22.12, 113.53),
    "厦门 Xiamen": (24.48, 118.09),
    # coast and islands
    "海口 Haikou": (20.04, 110.34),
    "三亚 Sanya": (18.25, 109.51),
    "崇明 Chongming": (31.63, 121.40),
    "舟山 Zhoushan": (30.02, 122.10),
    "青岛 Qingdao": (36.067, 120.383),
    "大连 Dalian": (38.91, 121.60),
    "天津港 Tianjin port": (38.98, 117.75),
    "三沙永兴岛 Sansha Yongxing (Paracels)": (16.834, 112.337),
    # border towns
    "黑河 Heihe": (50.225, 127.47),
    "绥芬河 Suifenhe": (44.396, 131.145),
    "丹东 Dandong": (40.124, 124.383),
    "珲春 Hunchun": (42.87, 130.36),
    "瑞丽 Ruili": (24.01, 97.85),
    "河口 Hekou": (22.53, 103.96),
    "凭祥 Pingxiang (Guangxi)": (22.10, 106.76),
    "东兴 Dongxing": (21.547, 107.97),
    "二连浩特 Erenhot": (43.65, 111.98),
    "喀什 Kashgar": (39.47, 75.99),
    "塔什库尔干 Taxkorgan": (37.77, 75.23),
    "霍尔果斯 Khorgas": (44.21, 80.42),
    "满洲里 Manzhouli": (49.60, 117.43),
    "漠河 Mohe": (52.97, 122.54),
    "漠河北极村 Mohe Beiji": (53.47, 122.35),
    "亚东 Yadong": (27.48, 88.91),
    "樟木 Zhangmu": (27.99, 85.98),
    "聂拉木 Nyalam": (28.16, 85.98),
}

REFUSE: dict[str, tuple[float, float]] = {
    # across-the-border twins
    "Blagoveshchensk": (50.267, 127.533),
    "Sinuiju": (40.10, 124.40),
    "Lao Cai": (22.4856, 103.9707),
    "Muse (Myanmar)": (23.98, 97.90),
    "Zamyn-Uud": (43.72, 111.90),
    # neighbours' capitals and big cities
    "Almaty": (43.24, 76.89),
    "Astana": (51.17, 71.45),
    "Bishkek": (42.87, 74.59),
    "Dushanbe": (38.56, 68.78),
    "Kabul": (34.53, 69.17),
    "Islamabad": (33.69, 73.06),
    "Kathmandu": (27.72, 85.32),
    "Thimphu": (27.47, 89.64),
    "New Delhi": (28.61, 77.21),
    "Dhaka": (23.81, 90.41),
    "Naypyidaw": (19.76, 96.08),
    "Vientiane": (17.97, 102.63),
    "Hanoi": (21.03, 105.85),
    "Pyongyang": (39.04, 125.76),
    "Seoul": (37.57, 126.98),
    "Tokyo": (35.68, 139.69),
    "Naha": (26.21, 127.68),
    "Ulaanbaatar": (47.92, 106.92),
    "Vladivostok": (43.12, 131.89),
    "Manila": (14.60, 120.98),
    # Hong Kong, Macao, Taiwan: refused by policy
    "Taipei": (25.03, 121.57),
    "Kaohsiung": (22.63, 120.30),
    "Kinmen": (24.43, 118.32),
    "Matsu Nangan": (26.155, 119.935),
    "Pratas": (20.70, 116.72),
    "Hong Kong Central": (22.28, 114.16),
    "Hong Kong Kowloon": (22.32, 114.17),
    "Hong Kong Sheung Shui": (22.50, 114.12),
    "Macao": (22.19, 113.54),
    "Macao Cotai": (22.14, 113.56),
    # open sea inside China's bounding box
    "Yellow Sea": (35.5, 123.5),
    "East China Sea": (29.0, 125.0),
}

# Refused points of Hong Kong, Macao and Taiwan: the refusal names them (港澳台).
HK_MO_TW = (
    "Taipei",
    "Kaohsiung",
    "Kinmen",
    "Matsu Nangan",
    "Pratas",
    "Hong Kong Central",
    "Hong Kong Kowloon",
    "Hong Kong Sheung Shui",
    "Macao",
    "Macao Cotai",
)
