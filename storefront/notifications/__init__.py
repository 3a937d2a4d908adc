"""Telling shoppers what happened: WeChat template messages about their orders, and staff
replies to their tickets as customer-service messages (客服消息)."""
