"""One module per flow: the business logic behind each function's thin handler."""
