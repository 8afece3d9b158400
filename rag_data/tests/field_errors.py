"""What the rag_data service tests share: the message a ValidationError gives for one field."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError


def field_error(call, field: str) -> str:
    """Call `call`, expect a ValidationError naming `field`, and return that field's first message."""
    with pytest.raises(ValidationError) as caught:
        call()
    assert field in caught.value.message_dict, caught.value.message_dict
    return caught.value.message_dict[field][0]
