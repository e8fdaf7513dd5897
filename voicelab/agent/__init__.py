"""The user's Agents SDK agent: loading it, describing it, and what each pipeline may run."""
