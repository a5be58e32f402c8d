"""The sender side: render a send command into an email message, then hand it to a provider."""
