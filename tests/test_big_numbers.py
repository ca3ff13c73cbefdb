"""Numbers in URLs beyond what a database integer holds get a 404 or the default,
never a 500 (SQLite raises OverflowError on them)."""

import pytest

BIG = "9" * 30


@pytest.mark.parametrize(
    ("who", "url", "expected"),
    [
        ("agent", f"/desk?account={BIG}", 200),
        ("admin", f"/desk/admin/users?account={BIG}", 200),
        ("admin", f"/desk/admin/users/invite?account={BIG}", 200),
        ("ana", f"/planner?from={BIG}", 200),
        ("ana", f"/planner/{BIG}", 404),
        ("ana", f"/cases/CS-{BIG}", 404),
        ("ana", f"/cases?status=&page={BIG}", 200),
        ("agent", f"/desk?page={BIG}", 200),
        ("admin", f"/desk/admin/users?page={BIG}", 200),
        ("admin", f"/desk/admin/accounts/{BIG}/tam", 404),
        ("agent", f"/desk/quarantine/{BIG}", 404),
        ("agent", f"/desk/quarantine?page={BIG}", 200),
    ],
)
def test_out_of_range_numbers_are_not_errors(world, make_client, who, url, expected):
    response = make_client(getattr(world, who)).get(url)
    assert response.status_code == expected, (url, response.status_code)


def test_db_int_refuses_what_no_database_integer_holds():
    from portal.inputs import DB_INT_MAX, db_int

    assert db_int(str(DB_INT_MAX)) == DB_INT_MAX
    for value in (str(DB_INT_MAX + 1), BIG, "x"):
        with pytest.raises(ValueError):
            db_int(value)
