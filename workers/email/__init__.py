"""Email: render (pure Jinja2), send (the only SMTP/SendGrid/outbox I/O), templates."""
