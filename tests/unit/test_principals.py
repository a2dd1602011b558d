"""IAM names of users, roles and sessions."""

from __future__ import annotations

from app.iam import principals


def test_role_arns_parse_into_name_and_path() -> None:
    arn = principals.parse_arn("arn:aws:iam::123456789012:role/service-role/Exec")
    assert arn is not None and arn.account_id == "123456789012"
    assert principals.role_of(arn) == principals.RoleName("Exec", "/service-role/")
    plain = principals.parse_arn("arn:aws:iam::123456789012:role/Exec")
    assert plain is not None and principals.role_of(plain) == principals.RoleName("Exec", "/")
    back = principals.role_arn(account_id="123456789012", role=principals.RoleName("Exec", "/service-role/"))
    assert back == "arn:aws:iam::123456789012:role/service-role/Exec"


def test_other_arns_are_not_roles() -> None:
    for text in ("arn:aws:iam::1:user/u", "arn:aws:s3:::bucket", "arn:aws:iam::1:role/"):
        arn = principals.parse_arn(text)
        assert arn is not None and principals.role_of(arn) is None
    assert principals.parse_arn("role/Exec") is None


def test_role_ids_are_stable_per_account_and_name() -> None:
    one = principals.role_id(account_id="123456789012", role_name="R")
    assert one == principals.role_id(account_id="123456789012", role_name="R")
    assert one != principals.role_id(account_id="210987654321", role_name="R")
    assert one != principals.role_id(account_id="123456789012", role_name="S")
    assert one.startswith("AROA") and len(one) == 21 and one[4:].isupper()
