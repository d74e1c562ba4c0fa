"""Words for the seeded data: agents, what users ask, what assistants answer, which functions they call."""

from __future__ import annotations

AGENT_ROLES: tuple[tuple[str, str], ...] = (
    ("support-triage", "Classify incoming support requests and answer the simple ones."),
    ("billing-assistant", "Answer questions about invoices, refunds and payment methods."),
    ("order-tracker", "Track orders and shipments and explain delays."),
    ("knowledge-base", "Answer from the product documentation, citing sources."),
    ("code-reviewer", "Review code changes and point out bugs and risky patterns."),
    ("data-analyst", "Answer questions about sales data with small computations."),
    ("onboarding-guide", "Walk new customers through account setup."),
    ("escalation-desk", "Take over conversations that need a human-like careful answer."),
)

TOPICS: tuple[str, ...] = (
    "my last invoice", "a refund for order 48213", "the delivery date of my parcel", "resetting my password",
    "the API rate limits", "upgrading my plan", "a failed payment", "exporting my data", "the Python SDK",
    "two-factor authentication", "a missing item in my order", "the quarterly sales report",
    "a pull request that touches the billing module", "the onboarding checklist", "cancelling my subscription",
)

QUESTION_TEMPLATES: tuple[str, ...] = (
    "Hi, can you help me with {topic}?",
    "I have a question about {topic}. What should I do?",
    "Could you check {topic} for me, please? It has been a few days.",
    "What is the status of {topic}?",
    "Thanks. One more thing about {topic}: is there anything else I need to do?",
    "Can you explain {topic} in simple terms?",
)

ANSWER_SENTENCES: tuple[str, ...] = (
    "Thanks for reaching out, I can help with that.",
    "I checked your account and everything looks in order.",
    "The request was registered and you will get a confirmation by email within the hour.",
    "According to the documentation, this setting is available on every plan.",
    "Your order left our warehouse yesterday and should arrive within two business days.",
    "I have opened a ticket so that a specialist can look into it.",
    "The refund has been approved; it usually takes three to five days to appear on your statement.",
    "You can change this under Settings, then Billing, then Payment methods.",
    "The change looks correct, but the loop on line 42 does not handle an empty list.",
    "Sales grew by 12 percent compared with the previous quarter, mostly in the enterprise segment.",
    "Is there anything else I can help you with today?",
    "Let me know if the problem persists after you try this.",
)

FUNCTIONS: tuple[tuple[str, str, str], ...] = (
    # name, arguments (JSON text), result (JSON text)
    ("get_order_status", '{"order_id": "48213"}', '{"status": "shipped", "eta": "2 days"}'),
    ("lookup_invoice", '{"customer_id": "cus_8841", "period": "last"}', '{"amount": 129.0, "currency": "EUR"}'),
    ("create_ticket", '{"priority": "normal", "summary": "customer request"}', '{"ticket_id": "T-20931"}'),
    ("issue_refund", '{"order_id": "48213", "amount": 42.5}', '{"refund_id": "re_5521", "state": "approved"}'),
    ("search_docs", '{"query": "rate limits"}', '{"hits": 3, "top": "docs/limits.md"}'),
    ("run_sql", '{"query": "select sum(amount) from sales group by quarter"}', '{"rows": 4}'),
)

TOOL_EXECUTIONS: tuple[tuple[str, str], ...] = (
    ("web_search", '{"query": "latest shipping delays Europe"}'),
    ("code_interpreter", '{"code": "sum([12.5, 30, 87.25])"}'),
    ("document_library", '{"query": "refund policy"}'),
    ("web_search", '{"query": "python sdk retry configuration"}'),
)

CONVERSATION_NAMES: tuple[str | None, ...] = (
    None, None, "Refund follow-up", "Order question", "Billing question", "Code review", "Sales report",
)

CHANNELS: tuple[str, ...] = ("web", "mobile", "email", "slack")

REPLY_WORDS: tuple[str, ...] = (
    "Sure", "here", "is", "what", "I", "found", "the", "answer", "depends", "on", "your", "plan", "and",
    "settings", "but", "in", "most", "cases", "it", "works", "as", "expected", "today", "thanks",
)
