"""Working on a site while it builds: watching its inputs and building again after each change."""
