"""Heavy code (torch, transformers, peft, trl): imported only in trainer, chat and CLI work processes."""
