"""The responsibility rules of the plan (联动处置要求 and 处置规范) as data: who is proposed for what,
with which arrival deadline. `seed_demo` loads them with `rules_seed()`; afterwards they are edited
in admin (a rule already stored is never overwritten here, so admin edits survive).

Reading a rule (see `dispatch.models.ResponsibilityRule` and `dispatch.recommend`):
- filters: `scopes` (category scopes) or `category_codes`, `police_type`, `major_only`,
  `road_classes` within `road_within_m` of the point (road-following rules, which also apply
  outside the grids), `until_time` (only dispatched before that local time; from
  settings.DISPATCH_DAY_STARTS in the morning);
- target: who is proposed (`count` of them, fastest first), with `deadline_minutes` (empty: "at
  once", settings.DISPATCH_AT_ONCE_MINUTES);
- `level`: 0 at first; 1, 2 and 3 are the rings a dispatcher (or the SLA clock, when an overdue
  arrival goes unacknowledged) adds by raising the incident's level. The highest level a case can
  reach is the highest ring the active rules define (`dispatch.services.escalation_max_level`).

The ladder, from the plan's 联动组织体系 and 处置规范 (our reading; the plan names no numbered levels):
  1 — the neighbouring grids' workers and leaders, and more members of the units already going;
  2 — the sub-district's responsible and principal leaders (the leading group, 领导小组);
  3 — all hands (全员联动): every on-duty grid worker and grid leader of the neighbouring grids,
      more police officers, and the command room's own linkage squad (大联动中队) in the field.

The plan's deadlines: police and full-time grid workers within 30 minutes; before 21:30 the grid
leader or security director and the contact of the place involved within 30 minutes; linkage
departments and stations "at the first moment"; on major incidents the principal and responsible
leaders at once.
"""

from __future__ import annotations

from datetime import time

from dispatch.models import Force, ResponsibilityRule, Role, Unit

T = ResponsibilityRule.Target
EVENING = time(21, 30)  # the plan's 21:30 cut-off for grid leaders, security directors and contacts
NON_POLICE = ["non_police"]

# code, name (Chinese, as the plan words it), fields. Names are data (edited in admin), so they
# are in the plan's language; the page shows them as stored.
RULES: list[dict] = [
    # --- police-type: the police station leads ---------------------------------------------------
    dict(code="police.officers", name="警务类：派出所在岗警力", police_type=True, target=T.FORCE,
         force=Force.POLICE, count=3, deadline_minutes=30, priority=10,
         note="警务类警情由派出所牵头，民警30分钟内到场。"),
    dict(code="police.mass_incident", name="群体性、重大敏感事件：派出所警力", category_codes=["mass_incident", "major_sensitive"],
         target=T.FORCE, force=Force.POLICE, count=2, deadline_minutes=30, priority=11,
         note="群体性事件和重大敏感警情派出所同步出警。"),
    # --- non-police disputes and requests for help ----------------------------------------------
    dict(code="nonpolice.grid_worker", name="非警务类：本网格专职网格员", scopes=NON_POLICE,
         target=T.GRID_STAFF, force=Force.GRID_WORKER, count=2, deadline_minutes=30, priority=20,
         note="专职网格员30分钟内到场。"),
    dict(code="nonpolice.grid_leader", name="非警务类：网格长（21:30前）", scopes=NON_POLICE,
         target=T.GRID_STAFF, force=Force.GRID_LEADER, role=Role.GRID_LEADER, count=1, deadline_minutes=30,
         until_time=EVENING, priority=21, note="21:30前网格长或治保主任30分钟内到场。"),
    dict(code="nonpolice.security_director", name="非警务类：治保主任（21:30前，网格长的替补）", scopes=NON_POLICE,
         target=T.SECURITY_DIRECTOR, count=1, deadline_minutes=30, until_time=EVENING,
         priority=22, note="网格长不能到场时由村（社区）治保主任到场。"),
    dict(code="nonpolice.place_contact", name="非警务类：涉事场所联系人（21:30前）", scopes=NON_POLICE,
         target=T.PLACE_CONTACT, count=1, deadline_minutes=30, until_time=EVENING,
         priority=23, note="涉及物业、工地、园区楼宇、企业的，联系人21:30前30分钟内到场。"),
    # --- fire ----------------------------------------------------------------------------------
    dict(code="fire.squad", name="火灾：消防中队", scopes=["fire"], target=T.UNIT_KIND,
         unit_kind=Unit.Kind.FIRE_SQUAD, count=3, deadline_minutes=None, priority=30),
    dict(code="fire.grid_worker", name="火灾：本网格专职网格员", scopes=["fire"], target=T.GRID_STAFF,
         force=Force.GRID_WORKER, count=1, deadline_minutes=30, priority=31),
    dict(code="fire.safety", name="火灾：安全执法中队", scopes=["fire"], target=T.FORCE,
         force=Force.SAFETY_ENFORCEMENT, count=1, deadline_minutes=None, priority=32),
    # --- traffic accidents ----------------------------------------------------------------------
    dict(code="traffic.police", name="交通事故：交警中队", scopes=["traffic"], target=T.UNIT_KIND,
         unit_kind=Unit.Kind.TRAFFIC_POLICE, count=1, deadline_minutes=None, priority=40),
    dict(code="traffic.station", name="交通事故：交通工作站", scopes=["traffic"], target=T.FORCE,
         force=Force.TRAFFIC_STATION, count=1, deadline_minutes=None, priority=41),
    # Road-following: on (within 30 m of) an arterial road the traffic police and the station take
    # the accident whatever grid it lies in, also just outside the sub-district.
    dict(code="traffic.arterial_police", name="交通事故（主干道沿线）：交警中队", scopes=["traffic"],
         road_classes=["arterial"], road_within_m=30, target=T.UNIT_KIND, unit_kind=Unit.Kind.TRAFFIC_POLICE,
         count=2, deadline_minutes=None, priority=42, note="主干道沿线的交通事故不分网格，由交警和交通工作站处置。"),
    dict(code="traffic.arterial_station", name="交通事故（主干道沿线）：交通工作站", scopes=["traffic"],
         road_classes=["arterial"], road_within_m=30, target=T.FORCE, force=Force.TRAFFIC_STATION,
         count=1, deadline_minutes=None, priority=43),
    # --- work-safety accidents ------------------------------------------------------------------
    dict(code="safety.enforcement", name="安全生产事故：安全执法中队", scopes=["work_safety"], target=T.FORCE,
         force=Force.SAFETY_ENFORCEMENT, count=2, deadline_minutes=None, priority=50),
    dict(code="safety.place_contact", name="安全生产事故：涉事场所联系人", scopes=["work_safety"],
         target=T.PLACE_CONTACT, count=1, deadline_minutes=30, priority=51),
    # --- department assistance: the department that asked (its units' members) ---------------------
    dict(code="assist.department", name="部门协助：请求协助的部门", scopes=["department_assist"],
         target=T.UNIT_KIND, unit_kind="", count=2, deadline_minutes=None, priority=60,
         note="单位类别留空：请求协助的部门（交办单位，或事件描述中点名的部门）。"),
    # --- major incidents: the leaders at once ---------------------------------------------------
    dict(code="major.principal", name="重大事件：街道主要领导", major_only=True, target=T.LEADERS,
         role=Role.PRINCIPAL_LEADER, count=1, deadline_minutes=None, priority=70),
    dict(code="major.responsible", name="重大事件：街道分管领导", major_only=True, target=T.LEADERS,
         role=Role.RESPONSIBLE_LEADER, count=1, deadline_minutes=None, priority=71),
    # --- level 1: the next ring ------------------------------------------------------------------
    dict(code="ring1.neighbour_grid_workers", name="升级一级：相邻网格专职网格员", target=T.NEIGHBOUR_GRID_STAFF,
         force=Force.GRID_WORKER, count=2, deadline_minutes=30, level=1, priority=80),
    dict(code="ring1.neighbour_grid_leaders", name="升级一级：相邻网格网格长", target=T.NEIGHBOUR_GRID_STAFF,
         force=Force.GRID_LEADER, role=Role.GRID_LEADER, count=1, deadline_minutes=30, level=1, priority=81,
         until_time=EVENING),
    dict(code="ring1.unit_reserve", name="升级一级：本单位预备力量", target=T.UNIT_RESERVE, count=2,
         deadline_minutes=30, level=1, priority=82,
         note="已派单位中尚未派单的在岗人员；时限不晚于该单位自身的时限。"),
    # --- level 2: the leaders --------------------------------------------------------------------
    dict(code="ring2.responsible", name="升级二级：街道分管领导", target=T.LEADERS, role=Role.RESPONSIBLE_LEADER,
         count=2, deadline_minutes=None, level=2, priority=90),
    dict(code="ring2.principal", name="升级二级：街道主要领导", target=T.LEADERS, role=Role.PRINCIPAL_LEADER,
         count=1, deadline_minutes=None, level=2, priority=91),
    # --- level 3: all hands ----------------------------------------------------------------------
    dict(code="ring3.neighbour_grid_workers", name="升级三级：相邻网格全部在岗网格员", target=T.NEIGHBOUR_GRID_STAFF,
         force=Force.GRID_WORKER, count=8, deadline_minutes=30, level=3, priority=100),
    dict(code="ring3.neighbour_grid_leaders", name="升级三级：相邻网格全部网格长", target=T.NEIGHBOUR_GRID_STAFF,
         force=Force.GRID_LEADER, role=Role.GRID_LEADER, count=4, deadline_minutes=30, level=3, priority=101,
         until_time=EVENING),
    dict(code="ring3.police", name="升级三级：派出所增援警力", target=T.FORCE, force=Force.POLICE, count=4,
         deadline_minutes=30, level=3, priority=102),
    dict(code="ring3.command_squad", name="升级三级：大联动中队出动", target=T.FORCE, force=Force.COMMAND_ROOM,
         count=2, deadline_minutes=None, level=3, priority=103),
]


def rules_seed() -> int:
    """Store the seeded rules that are missing (by code). Returns how many were added; a rule
    already stored, edited in admin or not, is left as it is."""
    existing = set(ResponsibilityRule.objects.filter(code__in=[r["code"] for r in RULES])
                   .values_list("code", flat=True))
    new = [ResponsibilityRule(**spec) for spec in RULES if spec["code"] not in existing]
    ResponsibilityRule.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)
