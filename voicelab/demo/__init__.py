"""The demo task: a customer-support agent with order-lookup tools."""
