"""The jobs admin pages: uploads and job outcomes are shown, never added or edited; an upload may be deleted."""

import pytest
from django.contrib import admin

from jobs.models import JobOutcome, Upload


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Upload, JobOutcome])
def test_changelists_render_and_refuse_add(admin_client, model):
    url = f"/admin/jobs/{model._meta.model_name}/"
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url + "add/").status_code == 403


def test_only_uploads_may_be_deleted(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    assert admin.site._registry[Upload].has_delete_permission(request)
    assert not admin.site._registry[JobOutcome].has_delete_permission(request)
    assert not admin.site._registry[Upload].has_change_permission(request)
