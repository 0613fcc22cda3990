"""Delivery: the batch loop, HTTP and the detached flusher.

Never imported on a command's path (it pulls in `requests`): only the
flusher, `flush`, inline delivery and `disable` use it.
"""
