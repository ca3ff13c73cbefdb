from portal.cases.models import Kind
from portal.clocks import services as clock_services
from portal.extensions import db


def test_home_counts_down_the_callback_and_says_when_to_expect_a_response(world, make, client):
    critical = make.case(world.ana, Kind.CRITICAL, subject="SMTP down everywhere", contact_phone="+31 6 1")
    clock_services.log_hotline_intake(
        critical, world.agent, "Acme Mail", "Ana", "+31 6 1", world.ana.email, "All relays fail"
    )
    make.case(world.ana, Kind.BUG, subject="Opens missing")
    db.session.commit()
    client.login(world.ana)
    page = client.get("/").text
    urgent = page.split('class="urgent card"')[1].split("</section>")[0]
    assert "SMTP down everywhere" in urgent and "Callback" in urgent and 'class="countdown"' in urgent
    assert "Expected response by" in page
