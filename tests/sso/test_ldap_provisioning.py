"""The provisioning rules every sign-in backend shares (``sso.provisioning``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from portal.models import OrgUnit, Person
from sso.ldap.plugin import HERE as LDAP_PLUGIN_DIR
from sso.provisioning import ProvisioningError, ProvisioningRules, provision_with_outcome
from tests.sso.slapd import org_without_people

GROUP = "cn=客户经理,ou=groups,dc=jxyc,dc=example"


@pytest.mark.parametrize("data, message", [
    ({"rules": []}, "unknown section"),
    ({"attributes": {"phone": "mobile"}}, "may only name"),
    ({"posts": [{"group": "x"}]}, "expected 'post'"),
    ({"posts": [{"post": "x", "group": "a", "attribute": "b"}]}, "exactly one of"),
    ({"posts": [{"post": "x"}]}, "exactly one of"),
    ({"posts": [{"post": "x", "group": "a", "colour": "red"}]}, "expected 'post'"),
    (["not", "a", "mapping"], "must be a mapping"),
])
def test_bad_rules_are_refused_with_a_message(data: object, message: str) -> None:
    with pytest.raises(ProvisioningError, match=message):
        ProvisioningRules.from_mapping(data)  # type: ignore[arg-type]


def test_a_rules_file_that_is_missing_or_not_yaml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ProvisioningError, match="cannot read rules file"):
        ProvisioningRules.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("posts: [\n", encoding="utf-8")
    with pytest.raises(ProvisioningError, match=r"bad\.yaml is not valid YAML"):
        ProvisioningRules.load(bad)


def test_the_shipped_rules_file_loads() -> None:
    rules = ProvisioningRules.load(LDAP_PLUGIN_DIR / "rules.yaml")
    assert rules.managed_posts == {"inspector", "account_manager", "deliveryman", "dept_head",
                                   "leader", "office", "admin"}


def test_conditions_match_groups_by_dn_or_cn_and_attributes() -> None:
    rules = ProvisioningRules.from_mapping({"posts": [
        {"memberOf": "CN=客户经理, OU=Groups,DC=jxyc,DC=example", "post": "by_dn"},
        {"group": "客户经理", "post": "by_cn", "manages": True},
        {"attribute": "employeeType", "equals": "Leader", "post": "by_value"},
        {"attribute": "manager", "post": "by_presence"},
    ]})
    assert rules.posts_for({"memberof": [GROUP], "EMPLOYEETYPE": "leader"}) == {
        "by_dn": False, "by_cn": True, "by_value": False}
    assert rules.posts_for({"memberOf": [], "manager": [b"uid=x"]}) == {"by_presence": False}
    assert rules.posts_for({}) == {}


def test_attribute_names_are_configurable_for_other_sources(app: Flask) -> None:
    org_without_people(app)
    rules = ProvisioningRules.from_mapping({
        "attributes": {"username": "preferred_username", "display_name": "name",
                       "email": "email", "mobile": "phone_number", "groups": "groups",
                       "unit_code": "department"},
        "posts": [{"group": "客户经理", "post": "account_manager"}]})
    claims = {"preferred_username": "oidc01", "name": "王某", "email": "o@x.example",
              "phone_number": "1" * 30, "groups": ["客户经理"], "department": "JX-HN-YX"}
    with app.app_context():
        s = app.extensions["portal"].db.session()
        result = provision_with_outcome(s, claims, rules)
        s.commit()
        person = s.scalars(select(Person).where(Person.username == "oidc01")).one()
        assert result.outcome == "created"
        assert (person.display_name, person.email, person.mobile) == ("王某", "o@x.example",
                                                                     None)  # too long: dropped
        assert s.get(OrgUnit, person.org_unit_id).code == "JX-HN-YX"  # type: ignore[union-attr]
        assert [a.post.code for a in person.assignments] == ["account_manager"]
        assert provision_with_outcome(s, claims, rules).outcome == "unchanged"
        claims["name"] = "王某某"
        assert provision_with_outcome(s, claims, rules).outcome == "updated"


def test_attributes_without_a_user_name_make_no_person(app: Flask) -> None:
    rules = ProvisioningRules()
    with app.app_context():
        s = app.extensions["portal"].db.session()
        for attrs in ({"cn": "x"}, {"uid": ""}, {"uid": "u" * 65}):
            with pytest.raises(ProvisioningError, match="user name"):
                provision_with_outcome(s, attrs, rules)
        assert s.scalar(select(Person.id)) is None
