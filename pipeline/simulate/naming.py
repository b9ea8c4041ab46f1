"""Chinese organization names of the simulated population: district + two syllables + a type suffix."""

from __future__ import annotations

import numpy as np

_SYLLABLES = (
    "和",
    "平",
    "安",
    "康",
    "福",
    "华",
    "新",
    "兴",
    "明",
    "光",
    "春",
    "晖",
    "德",
    "顺",
    "长",
    "乐",
    "阳",
    "泰",
    "云",
    "宁",
    "民",
    "丰",
    "嘉",
    "祥",
    "瑞",
    "恒",
    "惠",
    "益",
    "仁",
    "善",
    "文",
    "庆",
)
_DISTRICT_CN = {
    "dongcheng": "东城区",
    "xicheng": "西城区",
    "nanshan": "南山区",
    "beihu": "北湖区",
    "jiangkou": "江口区",
    "xingang": "新港区",
}
_TYPE_SUFFIX = {
    "social_work_agency": ("街道社会工作服务站", "社会工作服务中心", "社工服务社"),
    "association": ("社会工作者协会", "志愿服务协会", "社区发展协会"),
    "foundation": ("公益基金会", "慈善基金会", "社区基金会"),
}


def _names(district: np.ndarray, type_: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Chinese organization names: district + two syllables + a type-specific suffix (deterministic)."""
    n = len(district)
    syl = np.asarray(_SYLLABLES, dtype=object)
    s1 = syl[rng.integers(0, len(syl), n)]
    s2 = syl[rng.integers(0, len(syl), n)]
    pick = rng.integers(0, 3, n)
    out = np.empty(n, dtype=object)
    dcn = np.array([_DISTRICT_CN.get(d, str(d)) for d in district], dtype=object)
    for t, suffixes in _TYPE_SUFFIX.items():
        for k, suffix in enumerate(suffixes):
            m = (type_ == t) & (pick == k)
            out[m] = dcn[m] + s1[m] + s2[m] + suffix
    other = np.array([v is None for v in out], dtype=bool)
    out[other] = dcn[other] + s1[other] + s2[other] + "社会服务中心"
    return out


# ---------------------------------------------------------------------------------------------------
# the process
