"""Job functions. Each takes arq's ``ctx`` first and can run twice without harm."""
