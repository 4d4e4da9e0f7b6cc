import Trust
