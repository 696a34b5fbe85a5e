"""Workers on other machines: they join a job through the server's API and its database."""
