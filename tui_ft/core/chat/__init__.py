"""The A/B chat as the UI side sees it: the protocol with the chat process, its client,
conversations, transcripts and the quick eval."""
