"""One request, one transaction: a view that returns normally is committed once, after it
returns (so its page renders from objects that are still loaded); any exception rolls
back before the error handlers run. A view that must manage the session itself says so
with `@own_transaction`."""

from flask import Flask, request

from core.extensions import db


def own_transaction(view):
    """Leave this view's commit or rollback to the view itself."""
    view.own_transaction = True
    return view


class TransactionalFlask(Flask):
    def dispatch_request(self):
        rule = request.url_rule
        view = self.view_functions.get(rule.endpoint) if rule is not None else None
        if getattr(view, "own_transaction", False):
            return super().dispatch_request()
        try:
            response = super().dispatch_request()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return response
