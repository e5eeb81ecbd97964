"""Will it fit? Peak memory of a run or of the A/B chat, worked out before anything loads, and the
advice when it does not."""
