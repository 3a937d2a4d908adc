"""`{% form_once_token %}`: the hidden one-time token of a create form
(merchant_console.form_once)."""

from django import template
from django.utils.html import format_html

from merchant_console.form_once import FIELD, form_once_token_new

register = template.Library()


@register.simple_tag
def form_once_token():
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD,
                       form_once_token_new())
