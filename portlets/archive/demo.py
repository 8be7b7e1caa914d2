"""Realistic archive text: titles and bodies composed from phrases of a tobacco company's
office work. Used by the demo data and by bench/todo.py (100,000 documents)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

ISSUERS = ("嘉兴市烟草专卖局", "嘉兴市烟草公司办公室", "专卖监督管理科", "市场营销中心",
           "物流配送中心", "财务管理科", "人事劳资科", "海宁市烟草专卖局", "桐乡市烟草专卖局")
PREFIX = ("关于", "关于进一步", "关于认真做好", "关于切实加强", "关于开展", "关于印发")
SUBJECTS = ("卷烟市场专项整治", "零售客户许可证年审", "假冒伪劣卷烟打击", "真烟外流治理",
            "卷烟品牌培育", "订单供货模式优化", "物流配送线路调整", "客户经理月度拜访",
            "专卖执法案卷评查", "安全生产大检查", "冬季送货安全", "财务预算执行",
            "内部审计整改", "干部职工教育培训", "党风廉政建设", "信访维稳", "档案规范化管理",
            "零售终端建设", "现代终端示范店创建", "卷烟货源投放", "涉烟违法案件查处",
            "许可证办理便民服务", "营销网格化管理", "烟草专卖品准运证管理", "行政执法规范化",
            "消防安全隐患排查", "车辆安全管理", "节假日市场检查", "重点品牌规格监测")
KINDS = ("工作的通知", "实施方案", "情况的报告", "工作意见", "的请示", "工作总结",
         "的批复", "会议纪要", "考核办法", "管理规定")
BODY = ("根据省局（公司）工作部署，结合我市实际，现就有关事项通知如下。",
        "各县（市）局要高度重视，成立专项工作领导小组，明确责任分工，确保各项措施落到实处。",
        "专管员应加强对辖区零售户的日常巡查，重点检查许可证公示、进货渠道和经营场所。",
        "客户经理要做好卷烟订单采集和市场信息反馈，及时掌握零售客户经营状况。",
        "送货员在配送过程中应严格执行交接手续，发现异常情况及时报告。",
        "对检查中发现的问题，要建立台账，限期整改，整改情况于月底前报市局办公室。",
        "财务部门应严格执行预算管理制度，规范费用报销流程，加强资金使用监督。",
        "各单位要加强档案收集、整理和归档工作，确保文件材料齐全完整。",
        "开展打击假冒伪劣卷烟和真烟非法流通专项行动，保持对涉烟违法行为的高压态势。",
        "进一步优化营商环境，推进许可证办理网上受理，压缩审批时限，提升服务效率。",
        "加强三员协同，实现专管员、客户经理、送货员信息共享，提高市场监管和服务水平。",
        "本方案自印发之日起施行，由市局（公司）办公室负责解释。",
        "请各单位认真贯彻执行，执行中遇到的问题请及时与市局专卖监督管理科联系。",
        "会议听取了各部门工作汇报，研究部署了下一阶段重点工作。",
        "要以问题为导向，强化督查督办，确保年度目标任务全面完成。")
UNIT_CODE = "嘉烟"


def generate(n: int, seed: int = 7, start_year: int = 2016, end_year: int = 2026
             ) -> Iterator[dict[str, Any]]:
    """*n* records as ``service.parse`` fields, numbers unique per year."""
    rng = random.Random(seed)
    counters: dict[int, int] = {}
    from portlets.archive.service import CATEGORIES, RETENTIONS

    categories, retentions = list(CATEGORIES), list(RETENTIONS)
    for _ in range(n):
        year = rng.randint(start_year, end_year)
        counters[year] = counters.get(year, 0) + 1
        subject = rng.choice(SUBJECTS)
        body = "".join(rng.sample(BODY, rng.randint(3, 7)))
        body = f"{subject}是今年的重点工作之一。{body}"
        yield {"title": f"{rng.choice(PREFIX)}{subject}{rng.choice(KINDS)}",
               "number": f"{UNIT_CODE}〔{year}〕{counters[year]}号", "year": year,
               "category": rng.choices(categories, weights=(6, 2, 1, 2, 1))[0],
               "retention": rng.choice(retentions), "issuer": rng.choice(ISSUERS),
               "body": body}
