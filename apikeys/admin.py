"""Admin: make a key (shown once, on the page that answers the form), list keys with their use, revoke."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from apikeys import services
from apikeys.models import ApiKey, Scope


class ApiKeyCreationForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple,
                                       initial=[Scope.SEARCH, Scope.FEEDBACK])
    expires_in_days = forms.IntegerField(required=False, min_value=1, max_value=services.MAX_EXPIRY_DAYS,
                                         help_text="Leave empty for a key that does not expire.")

    class Meta:
        model = ApiKey
        fields = ["name"]

    def clean(self):
        data = super().clean()
        try:
            services.checked_scopes(data.get("scopes") or [])
        except services.InvalidKeyRequest as error:
            self.add_error("scopes", str(error))
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scope_list", "state", "created_at", "last_used_at", "expires_at"]
    list_filter = ["scopes", "revoked_at"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    readonly_fields = ["name", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name", "scopes", "expires_in_days"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        row, key = services.create_key(name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                                       expires_in_days=form.cleaned_data.get("expires_in_days"))
        for field in row._meta.concrete_fields:
            setattr(obj, field.attname, getattr(row, field.attname))
        obj._state.adding = False
        request._new_api_key = key

    def response_add(self, request, obj, post_url_continue=None):
        """The key, once: this page is the only place it appears (not stored, not in a message or a redirect)."""
        context = {**self.admin_site.each_context(request), "opts": self.opts, "key": obj,
                   "secret": getattr(request, "_new_api_key", ""), "title": f"API key {obj.name} created"}
        response = TemplateResponse(request, "admin/apikeys/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        count = services.revoke_keys(queryset)
        self.message_user(request, f"{count} key(s) revoked; requests with them now get 401.", messages.SUCCESS)
