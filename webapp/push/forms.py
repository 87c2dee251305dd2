from __future__ import annotations

from wtforms import StringField

from ..forms import Form


class SubscriptionForm(Form):
    """The browser's PushSubscription, which the page's script sends as JSON
    (the CSRF token in a header); the service checks each value."""

    endpoint = StringField()
    p256dh = StringField()
    auth = StringField()

    @classmethod
    def from_json(cls, body: object) -> SubscriptionForm:
        data = body if isinstance(body, dict) else {}
        keys = data.get("keys")
        keys = keys if isinstance(keys, dict) else {}
        return cls(formdata=None, data={"endpoint": data.get("endpoint"),
                                        "p256dh": keys.get("p256dh"), "auth": keys.get("auth")})
