from tests.factories import make_cohort, make_participant


def test_home_shows_the_participants_year(client, login_as, frozen_now):
    cohort = make_cohort()
    user = make_participant(cohort)
    login_as(user)
    page = client.get("/home")
    assert page.status_code == 200
    assert "Module 1: Planning and launching" in page.get_data(as_text=True)
