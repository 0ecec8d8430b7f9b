"""The seed catalogue loads, is complete, and every fact passes the domain rules."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from catalogue_svc.domain.events import ItemPublished, RegionImplementationChanged
from catalogue_svc.domain.model import ItemContent
from catalogue_svc.domain.reference import LICENCE_TYPES, HandlingMode
from catalogue_svc.seed import SeedData, SeedError, load_seed
from catalogue_svc.seed.loader import default_data_dir

REQUIRED_NAMES = {
    "异地就医结算备案",
    "社会保障卡申领",
    "户口迁移",
    "工作调动户口迁移",
    "大中专院校录取学生户口迁移",
    "大中专学生毕业户口迁移",
    "夫妻投靠户口迁移",
    "父母投靠子女户口迁移",
    "开具户籍类证明",
    "企业职工基本养老保险关系转移接续",
    "城乡居民基本养老保险关系转移接续",
    "正常退休提取住房公积金",
    "购房提取住房公积金",
    "职业资格证书核验",
    "失业登记",
    "学历公证",
    "机动车驾驶证公证",
    "市场主体登记注册",
    "个体工商户变更登记",
    "工业产品生产许可证",
    "排污许可",
    "不动产抵押登记",
    "基本医疗保险关系转移接续",
}
CORE_REGIONS = {"110000", "310000", "440000", "320000", "330000", "510000"}


@pytest.fixture(scope="module")
def seed() -> SeedData:
    return load_seed()


def test_seed_has_the_named_real_items(seed: SeedData) -> None:
    assert len(seed.items) >= 22
    assert {i.content.name for i in seed.items} >= REQUIRED_NAMES
    assert [i.basic_code for i in seed.items] == sorted(i.basic_code for i in seed.items)


def test_every_item_has_all_required_fields(seed: SeedData) -> None:
    for item in seed.items:
        c = item.content
        assert isinstance(c, ItemContent)
        assert c.name and c.ministry and c.legal_basis and c.audience and c.acceptance_conditions
        assert c.materials and c.process_steps and c.modes and c.result.name
        assert 0 <= c.promised_limit_days <= c.statutory_limit_days
        assert c.illustrative, f"{item.basic_code} marks no fact as illustrative"
        assert item.faqs, f"{item.basic_code} has no FAQ"
        assert item.source.list and item.source.batch and item.source.note
        assert any(m.requirement == "required" for m in c.materials)


def test_seed_uses_known_licence_types_and_fetchable_materials(seed: SeedData) -> None:
    used = {lt for i in seed.items for m in i.content.materials for lt in m.licence_types}
    used |= {i.content.result.licence_type for i in seed.items if i.content.result.licence_type}
    assert used <= set(LICENCE_TYPES)
    assert "resident_id_card" in used
    fetchable = [m for i in seed.items for m in i.content.materials if m.exchange_fetchable]
    assert len(fetchable) >= 10
    assert {m.exchange_domain for m in fetchable} >= {"household-registration", "pension", "medical"}


def test_joint_items_define_their_roles(seed: SeedData) -> None:
    medical = next(i for i in seed.items if i.content.name == "基本医疗保险关系转移接续")
    assert HandlingMode.JOINT in medical.content.modes
    assert set(medical.content.joint_roles) == {"transfer_out", "transfer_in"}
    hukou = seed.item("XK00003000")
    assert set(hukou.content.joint_roles) == {"move_in", "move_out"}
    for item in seed.items:
        assert (HandlingMode.JOINT in item.content.modes) == bool(item.content.joint_roles)


def test_hukou_sub_items_share_the_main_items_number(seed: SeedData) -> None:
    subs = [i for i in seed.items if i.basic_code.startswith("XK00003") and i.basic_code != "XK00003000"]
    assert len(subs) == 5
    assert all(i.content.name.endswith("户口迁移") for i in subs)


def test_most_items_are_implemented_in_the_core_regions(seed: SeedData) -> None:
    complete = [i for i in seed.items if {impl.region for impl in i.implementations} >= CORE_REGIONS]
    assert len(complete) >= len(seed.items) - 3
    for item in seed.items:
        assert len(item.implementations) >= 4
        for impl in item.implementations:
            assert impl.basic_code == item.basic_code
            assert impl.promised_limit_days <= item.content.statutory_limit_days
            assert set(impl.modes) <= set(item.content.modes)
            assert impl.conformance_errors(item.content) == []
            assert impl.implementation_code.startswith(impl.handling_org.uscc)
            assert "handling_org" in impl.illustrative


def test_some_regions_offer_fewer_modes_than_the_nation(seed: SeedData) -> None:
    narrowed = [
        impl for i in seed.items for impl in i.implementations if set(impl.modes) < set(i.content.modes)
    ]
    assert narrowed


def test_materialise_publishes_through_events(seed: SeedData) -> None:
    now = datetime.fromisoformat("2025-01-01T00:00:00+00:00")
    seed_item = seed.item("GG00018000")
    item, changes = seed_item.materialise(now=now)
    (published,) = item.pull_events()
    assert isinstance(published, ItemPublished)
    assert published.version.content == seed_item.content
    assert published.version.valid_from == now
    assert len(changes) == len(seed_item.implementations)
    assert all(isinstance(c, RegionImplementationChanged) for c in changes)
    assert {c.key for c in changes} == {f"GG00018000/{i.region}" for i in seed_item.implementations}


def test_seed_readme_says_what_is_illustrative() -> None:
    readme = Path(str(default_data_dir())).parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert "illustrative" in text.lower() and "synthetic" in text


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(str(default_data_dir()), target)
    return target


def _edit(path: Path, edit: object) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def test_copied_seed_loads_from_a_directory(seed_copy: Path) -> None:
    assert len(load_seed(seed_copy).items) >= 22


def test_a_region_promising_too_long_breaks_the_seed(seed_copy: Path) -> None:
    path = seed_copy / "items" / "GG00007000.json"
    _edit(path, lambda d: d["implementations"][0].update(promised_limit_days=99))
    with pytest.raises(SeedError, match=r"GG00007000\.json: .*statutory limit"):
        load_seed(seed_copy)


def test_invalid_content_in_seed_names_the_file_and_field(seed_copy: Path) -> None:
    path = seed_copy / "items" / "XK00013000.json"
    _edit(path, lambda d: d["content"].update(item_type="public_service"))
    with pytest.raises(SeedError, match=r"XK00013000\.json: .*item_type"):
        load_seed(seed_copy)


def test_seed_file_must_be_named_after_its_code(seed_copy: Path) -> None:
    (seed_copy / "items" / "GG00007000.json").rename(seed_copy / "items" / "GG00007001.json")
    with pytest.raises(SeedError, match="file name"):
        load_seed(seed_copy)


def test_unknown_keys_in_seed_files_are_refused(seed_copy: Path) -> None:
    _edit(seed_copy / "items" / "GG00001000.json", lambda d: d.update(colour="red"))
    with pytest.raises(SeedError, match="colour"):
        load_seed(seed_copy)


def test_missing_organisation_is_reported(seed_copy: Path) -> None:
    _edit(seed_copy / "organisations.json", lambda d: d.pop("110000/medical"))
    with pytest.raises(SeedError, match="110000/medical"):
        load_seed(seed_copy)


def test_broken_json_is_reported(seed_copy: Path) -> None:
    (seed_copy / "items" / "GG00001000.json").write_text("{", encoding="utf-8")
    with pytest.raises(SeedError, match=r"GG00001000\.json: cannot read JSON"):
        load_seed(seed_copy)
