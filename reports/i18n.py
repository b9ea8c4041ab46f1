"""Report language: the one translation table of the report's words (``render_report.language``).

English is the language the code writes; for ``zh`` every heading, caption, table label, header and note
is looked up here: first as a whole string (:data:`ZH`), then by pattern for strings that carry numbers
or names (:data:`ZH_PATTERNS`, e.g. "Population by 5-year period"), then phrase by phrase for the
standard-error notes (:data:`ZH_PHRASES`). What stays as written: identifiers (model names such as
``nb_density2``, term and column names, the user's data values and titles), the field's Latin names
(Cox, Poisson, NB2, AIC, …), numbers, and the failure reasons the models recorded in their result files.
A string that finds no translation is kept in English and counted (:attr:`Translator.missing`), so the
report can say so; nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reports.table_model import Cell, Table

LANGUAGES = ("en", "zh")

#: Words the layout adds around the bundle (HTML and Word reports).
LAYOUT_WORDS: dict[str, dict[str, str]] = {
    "en": {"contents": "Contents", "table": "Table", "figure": "Figure", "dataset": "Dataset", "colon": ": "},
    "zh": {"contents": "目录", "table": "表", "figure": "图", "dataset": "数据集", "colon": "："},
}

ZH: dict[str, str] = {
    # sections, subsections, lists
    "Data and provenance": "数据与来源",
    "Cleaning log": "数据清理记录",
    "Descriptives": "描述统计",
    "Founding": "组织创建",
    "Mortality": "组织死亡",
    "Growth": "组织成长",
    "Bottleneck": "发展瓶颈",
    "True versus estimated parameters": "真实参数与估计值",
    "Discussion": "讨论",
    "Parameters used for this dataset": "本数据集所用参数",
    "Conventions": "约定",
    "Provenance": "来源",
    "Survival curves": "生存曲线",
    "Cox proportional hazards": "Cox 比例风险模型",
    "Hazard by age": "分年龄风险",
    "Competing exits": "竞争性退出",
    "Carrying capacity and exit rates": "承载力与退出率",
    "Structural breaks": "结构突变",
    "Stagnation and dissolution": "停滞与解散",
    "Other models": "其他模型",
    # texts
    "All numbers in this report are read from the pipeline's result files and derived data; tables and "
    "figures are regenerated from them on every run.": "本报告中的所有数字均读取自流程的结果文件和派生数据；"
    "每次运行都会据此重新生成表格和图形。",
    "No founding-rate models were estimated for this dataset.": "本数据集未估计组织创建率模型。",
    "No mortality models: this dataset has no organization-level lifetimes (population series only).": "无死亡率"
    "模型：本数据集没有组织层面的存续期数据（仅有种群序列）。",
    "No growth models: this dataset has no organization-level size measure.": "无成长模型：本数据集没有组织层面的"
    "规模测量。",
    "No bottleneck models were estimated for this dataset.": "本数据集未估计瓶颈模型。",
    "No cleaning log was recorded for this dataset.": "本数据集没有数据清理记录。",
    "No population series is available.": "没有可用的种群序列。",
    "The dataset's entry and every stage block of params.yaml, as the pipeline read them.": "params.yaml 中本数据"
    "集的条目及各阶段参数块，与流程读取时一致。",
    "Counts of foundings per year (and per subpopulation-year) with the density on 1 January; one table per "
    "nested sequence, the likelihood-ratio test of each column against the previous one beneath it.": "每年（及"
    "每个子种群-年）的组织创建数与 1 月 1 日的种群密度；每个嵌套模型序列一张表，每列下方给出相对前一列的似然比检验。",
    "Mortality of organizations from counting-process spells with age as the clock; organizations founded "
    "before the window enter late (left truncation).": "基于计数过程区间、以组织年龄为时钟的组织死亡率；"
    "观察窗口之前成立的组织延迟进入（左截断）。",
    "Growth is observed only for organizations that survive to the next year.": "只有存活到下一年的组织才能观测到成长。",
    "Three operationalizations of a bottleneck: the population reaches a carrying capacity (logistic curve; "
    "density where expected foundings equal expected exits); the founding rate or density growth breaks "
    "structurally (sup-F); organizations enter stagnation, with dissolution as a competing risk.": "瓶颈的三种"
    "操作化：种群达到承载力（逻辑斯蒂曲线；预期创建数等于预期退出数时的密度）；创建率或密度增长发生结构突变"
    "（sup-F）；组织进入停滞，解散为竞争风险。",
    "The default dataset is simulated with known parameters; a parameter is covered when its true value lies "
    "inside the 95% confidence interval.": "默认数据集由已知参数模拟生成；若参数真值落在 95% 置信区间内，"
    "即视为被覆盖。",
    "Time unit: the calendar year. Density N_t counts organizations alive on 1 January of year t, so the "
    "founding rate in year t depends on the density at the start of the year (the usual one-year lag).": "时间"
    "单位：日历年。密度 N_t 为第 t 年 1 月 1 日存续的组织数，因此第 t 年的创建率取决于年初密度（通常的一年滞后）。",
    "Foundings F_t and exits D_t are counted within calendar year t; mass M_t sums the size measure over "
    "organizations alive on 1 January.": "创建数 F_t 与退出数 D_t 按第 t 个日历年计数；种群质量 M_t 为 1 月 1 日"
    "存续组织的规模之和。",
    "Spells are in counting-process form, split at every 1 January with age as the clock; organizations "
    "founded before the window enter at their true age (left truncation) and are right-censored at the "
    "window end or last observation.": "区间采用计数过程形式，在每个 1 月 1 日切分，以年龄为时钟；观察窗口之前"
    "成立的组织以真实年龄进入（左截断），并在窗口结束或最后一次观测时右删失。",
    "Standard errors: the SE type of each model is stated under its table (observed information, or robust "
    "clustered by organization). Significance: * p < 0.05, ** p < 0.01, *** p < 0.001.": "标准误：各模型的"
    "标准误类型在其表下注明（观测信息矩阵，或按组织聚类的稳健标准误）。显著性：* p < 0.05，** p < 0.01，"
    "*** p < 0.001。",
    "Growth is observed only for surviving organizations.": "只有存活组织才能观测到成长。",
    "Full parameters of this dataset: Appendix A.": "本数据集的完整参数：附录 A。",
    # captions
    "Carrying capacity: logistic density curve and equilibrium density": "承载力：逻辑斯蒂密度曲线与均衡密度",
    "Cause-specific hazards of stagnation and dissolution (discrete time, cloglog)": "停滞与解散的特定原因风险"
    "（离散时间，cloglog）",
    "Cleaning log: rows touched per rule": "数据清理记录：各规则处理的行数",
    "Founding rate, hurdle NB2: count equation (count:, zero-truncated NB2, log link) and zero equation "
    "(zero:, logit of any founding)": "创建率，门槛（hurdle）NB2 模型：计数方程（count:，零截断 NB2，对数链接）"
    "与零门槛方程（zero:，有无创建的 logit）",
    "Founding rate, zero-inflated NB2 (ZINB): count equation (count:, log link) and zero-inflation equation "
    "(zero:, logit of a structural zero)": "创建率，零膨胀 NB2 模型（ZINB）：计数方程（count:，对数链接）"
    "与零膨胀方程（zero:，结构性零的 logit）",
    "Founding rate, population level (population-years): Poisson": "创建率，种群层面（种群-年）：Poisson 模型",
    "Founding rate, population level (population-years): negative binomial (NB2)": "创建率，种群层面（种群-年）："
    "负二项模型（NB2）",
    "Growth: Gibrat regressions of \u0394 log size": "成长：对数规模变化 \u0394 log size 的 Gibrat 回归",
    "Kaplan\u2013Meier survival by group": "分组 Kaplan\u2013Meier 生存估计",
    "Mortality: Cox proportional hazards (age clock, delayed entry)": "死亡率：Cox 比例风险模型（年龄时钟，延迟进入）",
    "Mortality: cause-specific Cox hazards of competing exits": "死亡率：竞争性退出的特定原因 Cox 风险模型",
    "Mortality: Fine–Gray subdistribution hazards of competing exits": "死亡率：竞争性退出的 Fine–Gray 子分布风险模型",
    "Mortality: parametric proportional-hazards models": "死亡率：参数比例风险模型",
    "Mortality: accelerated failure-time models, log T = μ + x'β + σW (coefficients are log "
    "time ratios: a positive coefficient lengthens lifetimes)": "死亡率：加速失效时间模型，log T = μ + x'β + σW"
    "（系数为对数时间比：正系数延长组织寿命）",
    "Mortality: piecewise-constant exponential and discrete-time models": "死亡率：分段常数指数模型与离散时间模型",
    "Population-level exit-rate models (exits with offset log density)": "种群层面的退出率模型（以对数密度为偏移项的"
    "退出数）",
    "Sample construction": "样本构成",
    "Size\u2013variance scaling of growth": "成长的规模\u2013方差标度",
    "Structural breaks: sup-F tests": "结构突变：sup-F 检验",
    "True versus estimated parameters (simulated data)": "真实参数与估计值（模拟数据）",
    "Founding rate models": "创建率模型",
    "Mortality models": "死亡率模型",
    "Growth models": "成长模型",
    "Bottleneck models": "瓶颈模型",
    # header cells
    "5% critical value": "5% 临界值",
    "95% CI": "95% 置信区间",
    "Break year": "突变年份",
    "Candidate years": "候选年份",
    "Covered": "是否覆盖",
    "Deaths": "死亡数",
    "Dissolution": "解散",
    "Estimate": "估计值",
    "Events": "事件数",
    "Exits": "退出数",
    "Foundings": "创建数",
    "Group": "组别",
    "Mean N": "平均 N",
    "Median age": "年龄中位数",
    "Model": "模型",
    "N (1 Jan, first year)": "N（首年 1 月 1 日）",
    "N (1 Jan, last year)": "N（末年 1 月 1 日）",
    "Organizations": "组织数",
    "Parameter": "参数",
    "Period": "时期",
    "Quantity": "量",
    "Rows touched": "处理行数",
    "Rule": "规则",
    "SE": "标准误",
    "Series": "序列",
    "Slope": "斜率",
    "Stagnation": "停滞",
    "Statistic": "统计量",
    "Step": "步骤",
    "Table": "数据表",
    "Test": "检验",
    "True": "真值",
    "Units": "单位数",
    "What": "内容",
    "p-value": "p 值",
    "death": "死亡",
    # row labels
    "95% CI (delta method)": "95% 置信区间（delta 方法）",
    "95% CI (profile likelihood)": "95% 置信区间（剖面似然）",
    "\u03b1: 95% CI (profile likelihood)": "\u03b1：95% 置信区间（剖面似然）",
    "All organizations": "全部组织",
    "Carrying capacity K": "承载力 K",
    "Constant": "常数项",
    "Converged": "是否收敛",
    # equation panels of two-part founding models (analysis/two_part.py)
    "Count equation (NB2, log link)": "计数方程（NB2，对数链接）",
    "Count equation (zero-truncated NB2, log link)": "计数方程（零截断 NB2，对数链接）",
    "Zero-inflation equation (logit of a structural zero)": "零膨胀方程（结构性零的 logit）",
    "Zero hurdle equation (logit of any founding)": "零门槛方程（有无创建的 logit）",
    "Density at extreme exit rate": "退出率极值处的密度",
    "Density at lowest hazard": "风险最低处的密度",
    "Density at peak founding N*": "创建率峰值处的密度 N*",
    "Equilibrium density (foundings = exits)": "均衡密度（创建数 = 退出数）",
    "Exposure (years at risk)": "暴露（风险年数）",
    "Foundings, log(1 + F_t)": "创建数，log(1 + F_t)",
    "Government funding share": "政府资金占比",
    "Groups": "组数",
    "Growth rate r": "增长率 r",
    "Inflection year t0": "拐点年份 t0",
    "Inside observed density range": "是否在观测密度范围内",
    "LR test \u03b1 = 0 (\u03c7\u0304\u00b2, boundary)": "\u03b1 = 0 的似然比检验（\u03c7\u0304\u00b2，边界）",
    "LR vs null model": "相对零模型的似然比检验",
    "LR \u03c7\u00b2 vs. previous column": "相对前一列的似然比 \u03c7\u00b2",
    "Log-likelihood": "对数似然",
    "Concordance (Harrell's C)": "一致性指数（Harrell C）",
    "Organization fixed effects": "组织固定效应",
    "Organization-years in the panel": "面板中的组织-年",
    "Organizations in the register": "登记册中的组织",
    "Prior foundings (F, t\u22121)": "上年创建数（F，t\u22121）",
    "Prior foundings\u00b2": "上年创建数\u00b2",
    "Procurement budget": "政府购买服务预算",
    "Roots in the search interval": "搜索区间内的根",
    "Subpopulation fixed effects": "子种群固定效应",
    "Year 90% of K is reached": "达到 K 的 90% 的年份",
    "K: 95% CI (profile t)": "K：95% 置信区间（剖面 t 法）",
    "Logistic curve": "逻辑斯蒂曲线",
    "The profile interval of K is unbounded above: the series has not bent enough to identify a carrying "
    "capacity.": "K 的剖面区间无上界：序列尚未充分弯曲，无法识别承载力。",
    "Largest observed density": "观测到的最大密度",
    "K / largest observed density": "K / 观测到的最大密度",
    "Last observed density / K": "最后观测密度 / K",
    "(Intercept)": "常数项",
    "Density growth (N_{t+1} \u2212 N_t)/N_t": "密度增长 (N_{t+1} \u2212 N_t)/N_t",
    "Year fixed effects": "年份固定效应",
    "density growth": "密度增长",
    "inside observed range": "在观测范围内",
    "log size": "log 规模",
    "log scale": "对数尺度",
    "log \u03bb (baseline scale)": "log \u03bb（基准尺度）",
    "log \u03c1 (Weibull shape)": "log \u03c1（Weibull 形状参数）",
    "log c (Makeham age-independent hazard)": "log c（Makeham 与年龄无关的风险）",
    "log \u03c3 (AFT scale)": "log \u03c3（AFT 尺度参数）",
    "of which ended by death": "其中以死亡结束",
    "robust score": "稳健 score 检验",
    "score (log-rank)": "score 检验（log-rank）",
    "t test of \u03b2 = 1": "\u03b2 = 1 的 t 检验",
    "with observed growth (survivors)": "有观测成长者（存活组织）",
    "\u03b1 (NB2 dispersion)": "\u03b1（NB2 离散参数）",
    "\u03b2 (Gibrat: 1 + log-size coefficient)": "\u03b2（Gibrat：1 + 对数规模系数）",
    "\u03b3 (Gompertz age slope)": "\u03b3（Gompertz 年龄斜率）",
    "Mean before the break": "突变前均值",
    "Mean after the break": "突变后均值",
    "Mass (M)": "种群质量（M）",
    "Size": "规模",
    "Age": "年龄",
    "N": "N",
    # figure captions
    "Carrying capacity: observed density, fitted logistic curve, K and the year of 90% of K": "承载力：观测密度、"
    "拟合的逻辑斯蒂曲线、K 及达到 K 的 90% 的年份",
    "Cumulative incidence of death and competing exits (Aalen–Johansen), 95% CIs": "死亡与竞争性退出的累积"
    "发生率（Aalen–Johansen），95% 置信区间",
    "Cumulative incidence of stagnation and dissolution (competing risks)": "停滞与解散的累积发生率（竞争风险）",
    "Density on 1 January, foundings per year and exits per year": "1 月 1 日的密度、每年创建数与每年退出数",
    "Growth against size (survivors): organization-years, binned means and the Gibrat slope": "成长与规模"
    "（存活组织）：组织-年、分箱均值与 Gibrat 斜率",
    "Kaplan–Meier survival, all organizations (95% CIs where at most six groups)": "全部组织的 Kaplan–Meier"
    " 生存曲线（组数不超过六组时给出 95% 置信区间）",
    # words inside the figures
    "Age (years)": "年龄（年）",
    "Age (years); last piece open-ended": "年龄（年）；最后一段无上限",
    "Binned mean, 95% CI": "分箱均值，95% 置信区间",
    "Candidate break year": "候选突变年份",
    "Carrying capacity: logistic growth of density": "承载力：密度的逻辑斯蒂增长",
    "Cumulative incidence": "累积发生率",
    "Cumulative incidence of competing exits": "竞争性退出的累积发生率",
    "Density (organizations)": "密度（组织数）",
    "Density N (1 January)": "密度 N（1 月 1 日）",
    "Density N (organizations)": "密度 N（组织数）",
    "F statistic": "F 统计量",
    "Founding multiplier": "创建乘数",
    "Foundings / exits per year": "每年创建数 / 退出数",
    "Growth (\u0394 log size, next year)": "成长（下一年的 \u0394 log 规模）",
    "Growth versus size (survivors only)": "成长与规模（仅存活组织）",
    "Hazard of death (per year)": "死亡风险（每年）",
    "Kaplan\u2013Meier survival": "Kaplan\u2013Meier 生存曲线",
    "Logistic fit": "逻辑斯蒂拟合",
    "Mortality hazard by age piece, 95% CI": "分年龄段死亡风险，95% 置信区间",
    "Multiplier of the founding rate": "创建率乘数",
    "Multiplier of the death rate": "死亡率乘数",
    "Mortality multiplier": "死亡率乘数",
    "Observed density": "观测密度",
    "Observed density range": "观测密度范围",
    "Survival probability": "生存概率",
    "Year": "年份",
    "Years at risk of stagnation": "处于停滞风险中的年数",
    "95% CI of N*": "N* 的 95% 置信区间",
    "dissolution": "解散",
    "stagnation": "停滞",
    # cells
    "Exact duplicate row dropped (after identifier normalization)": "完全重复的行已删除（标识符规范化之后）",
    "Identifier stripped of whitespace and case-folded": "标识符去除空白并统一大小写",
    "Negative size set to missing": "负的规模设为缺失",
    "Panel row of an organization not in the register: dropped": "不在登记册中的组织的面板行：已删除",
    "no": "否",
    "yes": "是",
    "not reached": "未达到",
    "not estimated": "未估计",
    "organizations": "组织",
    "panel": "面板",
    "environment": "环境",
    "(none)": "（无）",
    "no cleaning rule touched any row": "没有任何清理规则处理过数据行",
    "not recorded": "未记录",
    # cleaning rules (pipeline.data.clean.RULE_DESCRIPTIONS)
    "Identifier rewritten: surrounding whitespace removed, panel identifiers matched ignoring case and "
    "written as the register spells them": "标识符已改写：去除首尾空白，面板标识符忽略大小写与登记册匹配，"
    "并改为登记册中的写法",
    "Exact duplicate row dropped (identifiers compared ignoring whitespace and case)": "完全重复的行已删除"
    "（比较标识符时忽略空白和大小写）",
    "Second record of an organization with identical dates dropped": "日期完全相同的同一组织的第二条记录已删除",
    "End reason stripped and case-folded": "终止原因去除首尾空白并统一大小写",
    "Record ended before it was founded (at the precision recorded): dropped": "记录的终止早于成立"
    "（按所记录的日期精度）：已删除",
    "End on or before founding only because a date is coarse (periods overlap): the coarser date moved "
    "inside its period to midway of the part compatible with the other": "终止不晚于成立仅因日期精度较粗"
    "（两个时期重叠）：精度较粗的日期在其时期内移至与另一日期相容部分的中点",
    "Funding share outside [0, 1] set to missing": "超出 [0, 1] 的资金占比设为缺失",
    "Panel row outside the organization's founding-to-end years: dropped": "在组织成立至终止年份之外的面板行："
    "已删除",
    "End reason not in params end_reasons: mapped to missing_end_reason": "终止原因不在 params 的 end_reasons"
    " 中：映射为 missing_end_reason",
    "Second panel row for the same organization-year: dropped": "同一组织-年的第二条面板行：已删除",
    "Organization-year missing between first and last panel observation (not filled)": "首末两次面板观测之间"
    "缺失的组织-年（未填补）",
    # data quality: dates by precision, usable rows per covariate (reports.descriptives)
    "Dates by recorded precision (after cleaning)": "按记录精度（日、月、年、未知）统计的日期（清理后）",
    "Dates known only to the month or year are placed inside their period by the date precision rule; "
    "unknown dates keep the organization out of age-dependent models.": "仅精确到月或年的日期按日期精度规则"
    "置于其所在时期之内；日期未知的组织不进入依赖年龄的模型。",
    "File: column": "文件：列",
    "Day": "日",
    "Month": "月",
    "Unknown": "未知",
    "Total": "合计",
    "Rows with a usable value per covariate": "各协变量取值可用的行数",
    "Table: covariate": "数据表：协变量",
    "Rows": "行数",
    "Usable": "可用行数",
    "Share usable": "可用比例",
    # sample construction (reports.descriptives.sample_construction)
    "of which left-truncated (founded before the window)": "其中左截断（成立于观察窗口之前）",
    "of which founding date unknown": "其中成立日期未知",
    "Spells (organization-years at risk)": "区间（处于风险中的组织-年）",
    # population-series rows of the logistic fit (reports.model_tables.data_quality_table)
    "Population-series rows used in the logistic fit": "逻辑斯蒂拟合所用的种群序列行",
    "Rows used in the logistic fit": "逻辑斯蒂拟合所用的行",
    "Density": "密度",
    "Precision": "精度",
    "Status": "状态",
    "Secondary/derived": "二手/推算",
    '\u2020 secondary or derived count (status contains "secondary" or "derived"); estimates that rest '
    "on them should be read with that in mind.": '\u2020 二手或推算的计数（状态中含 "secondary" 或 '
    '"derived"）；依赖这些数据的估计应审慎解读。',
    # notes
    "Ages in years since founding; median lifetime with its 95% CI in brackets.": "年龄为自成立以来的年数；"
    "方括号内为存续期中位数的 95% 置信区间。",
    "Break year: first year of the new regime.": "突变年份：新阶段的第一年。",
    "Density at lowest hazard \u2212g1/(2 g2) in organizations, 95% CI by the delta method.": "风险最低处的密度 "
    "\u2212g1/(2 g2)（单位：组织数），95% 置信区间由 delta 方法求得。",
    "N is density on 1 January; foundings and exits are counted within the calendar year.": "N 为 1 月 1 日的"
    "密度；创建数与退出数按日历年计数。",
    "Slope 0: volatility independent of size; \u22120.5: independent sub-units.": "斜率 0：波动与规模无关；"
    "\u22120.5：相互独立的子单元。",
    "Standard errors in parentheses; * p < 0.05, ** p < 0.01, *** p < 0.001 (two-sided).": "括号内为标准误；"
    "* p < 0.05，** p < 0.01，*** p < 0.001（双侧）。",
    "Turning point \u2212b1/(2 b2) in organizations, 95% CI by the delta method.": "拐点 \u2212b1/(2 b2)"
    "（单位：组织数），95% 置信区间由 delta 方法求得。",
    "Turning point \u2212b1/(2 b2) in organizations, 95% CI by the delta method and by profile likelihood "
    "(model refitted with b1 = \u22122 b2 N*; \u221e: unbounded).": "拐点 \u2212b1/(2 b2)（单位：组织数），95% "
    "置信区间由 delta 方法及剖面似然（以 b1 = \u22122 b2 N* 重新拟合模型；\u221e：无界）求得。",
}

#: Said before the discussion in a translated report: its paragraphs are generated in English.
DISCUSSION_NOTE = {"zh": "以下讨论由流程根据估计结果自动生成，目前只有英文版本。"}

#: Strings with numbers or names: (pattern, template). Named groups starting with ``t_`` are translated
#: themselves; other groups are kept as written (names, numbers, identifiers).
ZH_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"Population by (?P<n>\d+)-year period", "按 {n} 年分期的种群"),
    (
        r"Tests of the Cox model (?P<m>\S+) \(incl\. Grambsch\u2013Therneau PH tests\)",
        "Cox 模型 {m} 的检验（含 Grambsch\u2013Therneau 比例风险检验）",
    ),
    (
        r"Estimation sample: (?P<t_area>.+?) models, unit (?P<t_unit>.+?) \((?P<t_what>.+)\)",
        "估计样本：{t_area}模型，单位：{t_unit}（{t_what}）",
    ),
    (r"(?P<n>\d+) models", "{n} 个模型"),
    (r"(?P<x>.+) \(stable\)", "{x}（稳定）"),
    (r"5% critical value = (?P<x>.+)", "5% 临界值 = {x}"),
    (r"90% of K reached: (?P<x>.+)", "达到 K 的 90%：{x}"),
    (r"Break year \(sup-F\): (?P<y>.+)", "突变年份（sup-F）：{y}"),
    (r"Founding multiplier \((?P<m>\S+)\)", "创建乘数（{m}）"),
    (r"Mortality multiplier \((?P<m>\S+)\)", "死亡率乘数（{m}）"),
    (r"Predicted survival \((?P<m>\S+)\)", "预测生存（{m}）"),
    (r"All covariates at means \(N = (?P<n>[^)]+)\)(?P<s>.*)", "全部协变量取均值（N = {n}）{s}"),
    (r"N at its (?P<q>\d+)th percentile \(N = (?P<n>[^)]+)\)(?P<s>.*)", "N 取第 {q} 百分位数（N = {n}）{s}"),
    (
        r"Predicted survival by covariate profile with 95% CIs \((?P<m>\S+)\)",
        "按协变量组合的预测生存曲线及 95% 置信区间（{m}）",
    ),
    (
        r"Mortality multiplier exp\(g1 N \+ g2 N\u00b2\) over the observed density range with N\* \(density of "
        r"extreme mortality\) and 95% CIs \((?P<m>\S+)\)",
        "观测密度范围内的死亡率乘数 exp(g1 N + g2 N\u00b2)，含 N*（死亡率极值处的密度）及 95% 置信区间（{m}）",
    ),
    (r"(?P<v>K|N\*) = (?P<x>.+)", "{v} = {x}"),
    (r"Organization-years \(every (?P<n>\d+)th\)", "组织-年（每 {n} 个取 1 个）"),
    (r"Slope \u03b2\u22121 = (?P<x>\S+) \((?P<m>\S+)\)", "斜率 \u03b2\u22121 = {x}（{m}）"),
    (r"Structural break: (?P<t_s>.+)", "结构突变：{t_s}"),
    (r"competing exit: (?P<c>.+)", "竞争性退出：{c}"),
    (r"(?P<x>.+) \(unstable\)", "{x}（不稳定）"),
    (
        r"Baseline hazard of death by age piece, 95% CIs \((?P<m>\S+)\)",
        "分年龄段的基准死亡风险及 95% 置信区间（{m}）",
    ),
    (
        r"Kaplan\u2013Meier survival by (?P<g>.+?) \(95% CIs where at most six groups\)",
        "按 {g} 分组的 Kaplan\u2013Meier 生存曲线（组数不超过六组时给出 95% 置信区间）",
    ),
    (
        r"Founding multiplier exp\(b1 N \+ b2 N\u00b2\) over the observed density range with N\* and 95% CIs "
        r"\((?P<t_level>[^,]+), (?P<m>\S+)\)",
        "观测密度范围内的创建乘数 exp(b1 N + b2 N\u00b2)，含 N* 及 95% 置信区间（{t_level}，{m}）",
    ),
    (r"Sup-F sequence over candidate break years \((?P<m>\S+)\)", "候选突变年份上的 sup-F 序列（{m}）"),
    (r"PH test \(cox\.zph, (?P<tr>[\w.]+)\): (?P<t_term>.+)", "比例风险检验（cox.zph，{tr}）：{t_term}"),
    (r"LR vs (?P<m>\S+)", "相对 {m} 的似然比检验"),
    (r"Density \(N(?P<s>[^)]*)\)", "密度（N{s}）"),
    (r"Density\u00b2 \(N(?P<s>[^)]*)\)\u00b2", "密度\u00b2（N{s}）\u00b2"),
    (r"Density at founding \(N(?P<s>[^)]*)\)", "创建时密度（N{s}）"),
    (r"Age (?P<a>[\d.+\u2013]+) \(log baseline rate\)", "年龄 {a}（对数基准率）"),
    (r"Age (?P<a>[\d.+\u2013]+)", "年龄 {a}"),
    (
        r"Density terms per (?P<n>[\d.]+) organizations \(N/(?P<m>[\d.]+)\)\.",
        "密度项以每 {n} 个组织为单位（N/{m}）。",
    ),
    (r"SE type: (?P<t_se>.+)", "标准误类型：{t_se}"),
    (r"Commit: (?P<c>.+)", "提交：{c}"),
    (
        r"Input (?P<p>.+) \(outside the repository, not in git: obtain it separately\): SHA-256 (?P<h>\w+)",
        "输入 {p}（位于仓库之外，不在 git 中：需另行获取）：SHA-256 {h}",
    ),
    (r"Input (?P<p>.+): SHA-256 (?P<h>\w+)", "输入 {p}：SHA-256 {h}"),
    (r"Packages: (?P<p>.+)", "软件包：{p}"),
    (r"Random seed (?P<n>.+): (?P<s>.+)", "随机种子 {n}：{s}"),
    (r"Observation window: (?P<w>.+)\.", "观察窗口：{w}。"),
    (
        r"Dates known only to the year or month are placed at the (?P<t_rule>\w+) of that period \(date "
        r"precision rule\); organizations with unknown founding dates stay out of age-dependent models\.",
        "仅知年份或月份的日期置于该时期的{t_rule}（日期精度规则）；成立日期未知的组织不进入依赖年龄的模型。",
    ),
    (
        r"Models that could not be estimated \(reason in the table notes\): (?P<m>.+)\.",
        "未能估计的模型（原因见表注）：{m}。",
    ),
    (
        r"Weakly identified, shown without significance stars and not read as findings \(reasons in the "
        r"table notes\): (?P<m>.+)\.",
        "识别较弱的估计（不标显著性星号，不作为研究发现解读；原因见表注）：{m}。",
    ),
    (
        r"Estimates whose intervals contradict the observed data \(see the table notes\): (?P<m>.+)\.",
        "区间与观测数据相矛盾的估计（见表注）：{m}。",
    ),
    (r"Not estimated for this dataset: (?P<r>.+)\.", "本数据集未估计：{r}。"),
    (r"Organizational ecology report: (?P<d>.+)", "组织生态学报告：{d}"),
    (r"(?P<k>\([\d\u2013()]+\)) (?P<m>\S+): not estimated \u2014 (?P<r>.+)", "{k} {m}：未能估计——{r}"),
    (
        r"Equilibrium from founding model (?P<f>\S+) and exit model (?P<e>\S+); CI: percentile over draws with "
        r"a stable root\.",
        "均衡由创建模型 {f} 与退出模型 {e} 求得；置信区间：有稳定根的抽样的百分位数。",
    ),
    (
        r"Logistic curve (?P<f>.+) fitted to density \((?P<n>\d+) years\); SE: (?P<t_se>.+)\.",
        "对密度（{n} 年）拟合逻辑斯蒂曲线 {f}；标准误：{t_se}。",
    ),
    (r"Logistic curve not estimated: (?P<r>.+)\.", "逻辑斯蒂曲线未能估计——{r}。"),
    (
        r"(?P<n>\d+) secondary/derived row\(s\) used in the fit \(years (?P<y>[^)]+)\); treat the estimates "
        r"accordingly\.",
        "拟合使用了 {n} 行二手/推算数据（年份 {y}）；解读估计时应考虑这一点。",
    ),
    # baseline pieces of the piecewise-constant exponential model (analysis.piecewise), as raw terms in the
    # truth table: the log baseline rate of the age piece [lo, hi)
    (r"piece\[(?P<lo>[\d.]+),(?:inf|Inf)\)", "年龄段 [{lo}, \u221e) 的对数基准率"),
    (r"piece\[(?P<lo>[\d.]+),(?P<hi>[\d.]+)\)", "年龄段 [{lo}, {hi}) 的对数基准率"),
    # the assessment's notes on a model (reports.regression.assessment_notes, analysis.assess)
    (
        r"(?P<tag>(?:\(\d+\) )?[A-Za-z][\w.]*): weak estimate, no significance stars \u2014 (?P<r>.+)",
        "{tag}：估计较弱，不标显著性星号——{r}",
    ),
    (
        r"(?P<tag>(?:\(\d+\) )?[A-Za-z][\w.]*): (?P<t_flags>(?:carrying capacity K|turning point N\*|density "
        r"of lowest hazard|the profile interval of K|the 95% CI of K) .+)\.",
        "{tag}：{t_flags}。",
    ),
    (
        r"carrying capacity K = (?P<k>\S+) is below the highest observed density \((?P<top>[^)]+)\)",
        "承载力 K = {k} 低于观测到的最高密度（{top}）",
    ),
    (
        r"carrying capacity K = (?P<k>\S+) is (?P<x>\S+) times the highest observed density: an "
        r"extrapolation beyond the data",
        "承载力 K = {k}，为观测到的最高密度的 {x} 倍：超出数据范围的外推",
    ),
    (
        r"(?P<t_what>turning point N\*|density of lowest hazard) = (?P<x>\S+) lies outside the observed "
        r"density range \[(?P<r>[^\]]+)\]",
        "{t_what} = {x} 落在观测密度范围 [{r}] 之外",
    ),
    (
        r"the 95% CI of K \[(?P<r>[^\]]+)\] spans more than an order of magnitude",
        "K 的 95% 置信区间 [{r}] 跨度超过一个数量级",
    ),
    (
        r"Stagnation: first year of (?P<n>\d+) consecutive years with growth < 0 \(a missing year breaks a "
        r"run\)\.",
        "停滞：连续 {n} 年增长 < 0 的第一年（缺失年份中断连续）。",
    ),
    (r"log-rank \((?P<g>[^)]+)\): (?P<s>.+)\.", "log-rank 检验（{g}）：{s}。"),
    (
        r"p-values: simulated Brownian-bridge limit \((?P<n>\d+) paths, (?P<k>\d+) steps, seed (?P<s>\d+)\)\.",
        "p 值：模拟的布朗桥极限分布（{n} 条路径，{k} 步，种子 {s}）。",
    ),
    (
        r"(?P<m>\S+): log sd\(growth\) on log size across organizations; SE (?P<se>\w+)\.",
        "{m}：各组织 log sd(成长) 对 log 规模的回归；标准误 {se}。",
    ),
)

#: Areas, units and rules inside the patterns above.
ZH_WORDS: dict[str, str] = {
    "founding rate": "创建率",
    "mortality": "死亡率",
    "growth": "成长",
    "bottleneck": "瓶颈",
    "population-year": "种群-年",
    "organization": "组织",
    "organization-year": "组织-年",
    "organization-year spell": "组织-年区间",
    "expanded organization-year spell": "扩展的组织-年区间",
    "organization-year at risk": "处于风险中的组织-年",
    "spell": "区间",
    "midpoint": "中点",
    "start": "起点",
    "end": "终点",
    "GLOBAL": "全局",
    "population level": "种群层面",
    "episode": "按年龄切分的子区间",
    "turning point N*": "拐点 N*",
    "density of lowest hazard": "风险最低处的密度",
    "the profile interval of K is unbounded above: the carrying capacity is not identified": "K 的剖面似然区间"
    "无上界：承载力无法识别",
}

#: Phrases of the standard-error notes (``SE type: (1) ...; (2) ...``), longest first.
ZH_PHRASES: tuple[tuple[str, str], ...] = (
    (r"robust \(sandwich\), clustered by organization", "稳健（三明治），按组织聚类"),
    (r"robust, clustered by organization", "稳健，按组织聚类"),
    (
        r"cluster-robust by organization \((?P<k>[^\]]*\]?)\), t\((?P<df>\d+)\) reference",
        r"按组织聚类稳健（\g<k>），t(\g<df>) 参照分布",
    ),
    (r"cluster-robust by organization \((?P<k>[^)]*\)[^)]*\)[^)]*)\)", r"按组织聚类稳健（\g<k>）"),
    (r"cluster-robust by organization", "按组织聚类稳健"),
    (
        r"cluster-robust (?P<c>CR\d) by (?P<v>\w+) \(no small-sample factor\)",
        r"按 \g<v> 聚类稳健（\g<c>，无小样本校正）",
    ),
    (
        r"cluster-robust (?P<c>CR\d) by (?P<v>\w+) \((?P<r>G/\(G-1\)\S*?/\(n-K\))\)",
        r"按 \g<v> 聚类稳健（\g<c>，小样本校正 \g<r>）",
    ),
    (r"cluster-robust (?P<c>CR\d) by (?P<v>\w+)", r"按 \g<v> 聚类稳健（\g<c>）"),
    (r"cluster-robust \(org\)", "按组织聚类稳健"),
    (
        r"observed information \(= expected for the canonical log link\)",
        "观测信息矩阵（典则对数链接下与期望信息矩阵相同）",
    ),
    (r"observed information \(incl\. alpha\)", "观测信息矩阵（含 alpha）"),
    (r"observed information incl\. alpha", "观测信息矩阵（含 alpha）"),
    (r"observed information", "观测信息矩阵"),
    (r"\[nested\]", "[嵌套]"),
    # the logistic curve's SE (analysis.logistic, as R nls)
    (r"sigma\^2 \(J'J\)\^-1 at the optimum \(as R nls\)", "最优点处的 \u03c3^2 (J'J)^-1（同 R nls）"),
    (r"Wald CI with t\((?P<df>[^)]*)\)", r"Wald 置信区间，t(\g<df>) 分布"),
    (r"asymptotic \(NLS\)", "渐近（NLS）"),
    (r"; ", "；"),
    (r"\.$", "。"),
)

#: Names a Chinese report keeps in Latin letters (statistics and tests known by them).
LATIN = frozenset({"AIC", "BIC", "Wald", "sup-F", "N", "K", "SE", "LR", "df", "n", "p"})

_KEEP = re.compile(r"^[\w.\-\[\]:/()=*+\u2013\u2212]+$")


_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

#: A categorical level as :func:`reports.labels.term_label` writes it: the user's column and value.
_LEVEL = re.compile(r"^[a-z][a-z0-9 ]*: \S.*$")

#: A data file and one of its columns (the dates-by-precision table, ``organizations.csv: founded``): the
#: user's file and column names, kept as written like the table and covariate names of the usable-rows table.
_FILE_COLUMN = re.compile(r"^[\w.\-]+\.(?:csv|tsv|txt|parquet|xlsx?|json|dta|sav|feather): [\w.\-]+$")


def _is_identifier(text: str) -> bool:
    """Model, term and column names (``nb_density2``, ``cox_full``, ``S(5)``, ``(1)``) stay as written."""
    if text in LATIN or _LEVEL.match(text) or _FILE_COLUMN.match(text):
        return True
    return bool(_KEEP.match(text)) and (
        "_" in text
        or any(ch.isdigit() for ch in text)
        or text.islower()
        or not any(ch.isalpha() for ch in text)
    )


@dataclass
class Translator:
    """Translate the report's strings into ``language``; ``missing`` collects what stayed in English."""

    language: str = "en"
    missing: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"unknown report language {self.language!r}; use one of {', '.join(LANGUAGES)}")
        self._patterns = [(re.compile(p + r"\Z"), t) for p, t in ZH_PATTERNS]

    @property
    def words(self) -> dict[str, str]:
        return LAYOUT_WORDS[self.language]

    def __call__(self, text: str) -> str:
        if self.language == "en" or not text or not text.strip():
            return text
        lead = text[: len(text) - len(text.lstrip())]
        core = text.strip()
        out = self._lookup(core)
        if out is None:
            # Chinese already (the user's own text, or translated before): nothing to count
            if not _is_identifier(core) and re.search(r"[A-Za-z]{3,}", core) and not _CJK.search(core):
                self.missing.add(core)
            return text
        return lead + out

    def _lookup(self, text: str) -> str | None:
        if text in ZH:
            return ZH[text]
        if text in ZH_WORDS:
            return ZH_WORDS[text]
        for pattern, template in self._patterns:
            m = pattern.match(text)
            if m is None:
                continue
            groups = {}
            for name, value in m.groupdict().items():
                if name == "t_se":
                    groups[name] = self._phrases(value)
                elif name == "t_flags":  # the assessment's flags, joined by "; "
                    groups[name] = "；".join(self(flag) for flag in value.split("; "))
                elif name.startswith("t_"):
                    groups[name] = self(value)
                else:
                    groups[name] = value
            return template.format(**groups)
        return None

    def _phrases(self, text: str) -> str:
        for pattern, repl in ZH_PHRASES:
            text = re.sub(pattern, repl, text)
        return text

    def table(self, table: Table) -> Table:
        """The table with caption, header, row labels, word cells and notes translated (numbers and the
        full-precision data for CSV unchanged)."""
        if self.language == "en":
            return table
        rows = [
            (
                self(label),
                [Cell(self(c.text), c.stars, c.wrap) if not _numeric(c.text) else c for c in cells],
                kind,
            )
            for label, cells, kind in table.rows
        ]
        return replace(
            table,
            caption=self(table.caption),
            header=[[self(h) for h in hdr] for hdr in table.header],
            rows=rows,
            notes=[self(n) for n in table.notes],
        )

    def bundle_texts(self, bundle: Mapping[str, Any]) -> dict[str, Any]:
        """The report bundle's own words translated (titles, paragraphs, lists, headings, figure captions);
        its tables are translated before they enter the bundle (:meth:`table`)."""
        if self.language == "en":
            return dict(bundle)
        sections = []
        for sec in bundle["sections"]:
            blocks = []
            for b in sec["blocks"]:
                if b["kind"] == "heading":
                    b = {**b, "text": self(b["text"])}
                elif b["kind"] == "figures":
                    b = {**b, "row": [{**f, "caption": self(f["caption"])} for f in b["row"]]}
                blocks.append(b)
            sections.append(
                {
                    **sec,
                    "title": self(sec["title"]),
                    "absent_text": self(sec["absent_text"]),
                    "text": [self(p) for p in sec["text"]]
                    if sec["title"] != "Discussion"
                    else [DISCUSSION_NOTE[self.language], *sec["text"]],
                    "lists": [
                        {"title": self(lst["title"]), "items": [self(i) for i in lst["items"]]}
                        for lst in sec.get("lists", [])
                    ],
                    "blocks": blocks,
                }
            )
        appendix = [
            {**a, "title": self(a["title"]), "text": [self(p) for p in a["text"]]} for a in bundle["appendix"]
        ]
        return {
            **bundle,
            "intro": [self(p) for p in bundle["intro"]],
            "sections": sections,
            "appendix": appendix,
        }


def _numeric(text: str) -> bool:
    return bool(text) and not re.search(r"[A-Za-z\u4e00-\u9fff]", text)
