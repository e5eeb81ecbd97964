"""The chat process: loading base and tuned models once, generating both answers, streaming them."""
