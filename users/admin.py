from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from knox.models import AuthToken

from core.admin import OverflowSafeChangeListMixin

from .models import User
from .validators import AsciiLocalPartValidator, DomainNameValidator


def _ascii_before_the_at(email: str) -> str:
    """The rules for a new address, as registration has them: ASCII before the @, a domain name after it."""
    normalized = User.objects.normalize_email(email)
    AsciiLocalPartValidator()(normalized)
    DomainNameValidator()(normalized)
    return email


class UserCreateForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")

    def clean_email(self):
        return _ascii_before_the_at(self.cleaned_data["email"])


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self):
        # Only a changed address: a user stored before the rule stays editable (to set the opt-out, say).
        email = self.cleaned_data["email"]
        return _ascii_before_the_at(email) if "email" in self.changed_data else email


@admin.register(User)
class UserAdmin(OverflowSafeChangeListMixin, BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    list_display = ("email", "name", "is_staff", "email_opt_out", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "email_opt_out")
    search_fields = ("email", "name")
    ordering = ("-date_joined",)
    date_hierarchy = "date_joined"
    fieldsets = (
        (None, {"fields": ("email", "name", "password")}),
        ("Recovery emails", {"fields": ("email_opt_out", "name_vouched")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)

    def save_model(self, request, obj, form, change):
        if not change or "name" in form.changed_data:
            obj.name_vouched = True  # a member of staff typed it
        super().save_model(request, obj, form, change)


# API tokens: knox's own admin lists each token's user with a query per row and offers an "add" form that would save
# an empty token. Staff here see who holds which token (its first characters, never the secret, which is not stored)
# and revoke one by deleting it.
admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class AuthTokenAdmin(OverflowSafeChangeListMixin, admin.ModelAdmin):
    list_display = ("token_key", "user", "created", "expiry")
    list_select_related = ("user",)
    search_fields = ("user__email", "token_key")
    ordering = ("-created",)
    date_hierarchy = "created"
    fields = ("token_key", "user", "created", "expiry")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # a token is issued by registration or POST /api/auth/token/, shown once to its holder
