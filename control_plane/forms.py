from django import forms
from django.utils.translation import gettext_lazy as _


class MerchantSignupForm(forms.Form):
    name = forms.CharField(label=_("Mall name"), max_length=100)
    slug = forms.CharField(
        label=_("Shop address"), max_length=30,
        help_text=_("3–30 lowercase letters, digits or hyphens."),
    )
    owner_email = forms.EmailField(label=_("Your email"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
