"""E-mail notification channel: notifications become plain-text mails over SMTP, recorded per
recipient so that each goes out once."""
