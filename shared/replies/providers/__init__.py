"""What each provider's send API wants and answers, pure: a request builder and an answer reader each."""
