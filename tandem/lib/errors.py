"""The two ways a request is turned down, kept apart.

`Refusal`: the input, or the state of the thing asked about, is not allowed by the rules of the domain
("Write the reason", "This note is already signed"). The user may fix it and try again, so the message
is shown (400) and nothing is changed.

Permission is the other way, `tandem.access.services.AccessDenied`: who is asking may not do it. That is
answered with the audited 404 of the permission layer, so that nothing about the object is revealed.
"""


class Refusal(Exception):
    """The rules of the domain refuse this input or this step; the message is fit to show to the user.

    `field` names the form field (or JSON key) the message is about, when it is about one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
