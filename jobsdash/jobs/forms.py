"""The job list's filter form: the upstream's own parameter names, so the URL is the filter."""

from __future__ import annotations

from django import forms

from jobsdash.waylay.queries import FUNCTION_TYPES, JOB_STATES, LIST_JOB_TYPES, TIMESTAMP_FORMS

# (label, TimestampSpec) of the "created after" presets.
TIME_PRESETS = [("last 15 min", "PT15M"), ("last 1 h", "PT1H"), ("last 24 h", "P1D"), ("last 7 days", "P7D")]


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class JobFilterForm(forms.Form):
    """Renders the filters; validation itself is `parse_list_query`'s, attached with add_error."""

    type = forms.MultipleChoiceField(
        choices=_choices(LIST_JOB_TYPES), required=False, widget=forms.CheckboxSelectMultiple, label="Type"
    )
    state = forms.MultipleChoiceField(
        choices=_choices(JOB_STATES), required=False, widget=forms.CheckboxSelectMultiple, label="State"
    )
    functionType = forms.MultipleChoiceField(
        choices=_choices(FUNCTION_TYPES),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Function type",
    )
    createdAfter = forms.CharField(
        required=False,
        label="Created after",
        help_text=TIMESTAMP_FORMS,
        widget=forms.TextInput(attrs={"list": "time-presets", "placeholder": "PT1H"}),
    )
    createdBefore = forms.CharField(
        required=False,
        label="Created before",
        help_text=TIMESTAMP_FORMS,
        widget=forms.TextInput(attrs={"list": "time-presets", "placeholder": "2024-05-01"}),
    )
    limit = forms.CharField(
        required=False, label="Limit", widget=forms.NumberInput(attrs={"min": 0, "step": 1, "placeholder": "default"})
    )
