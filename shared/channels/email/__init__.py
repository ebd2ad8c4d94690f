"""The one inbound-email pipeline every email provider shares (SES, SendGrid, Mailgun).

`mime` reads a raw RFC 5322 message (`parsed.assemble` takes a provider's
pre-parsed fields instead), `headers` and `automation` read its headers, `text`
turns its body into the new part and the full text, `storage` decides where the
bytes go and `contacts` builds the `Contact`. All of that is pure; `webhook` is
the plumbing the three handlers share, and `shared.adapters.s3` does the S3 I/O.
"""
