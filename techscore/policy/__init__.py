"""Policy cut-offs (`techscore policy`): a scored book's approval, expected bad rate, expected loss and margin at
each cut-off, under the public tools that share the bank's loss (risk compensation, guarantees, interest
subsidies), with the NPL tolerance the policy texts allow for tech SMEs."""

from techscore.policy.cutoffs import BASELINE, book_curve, cutoff_table, load_book, policy_summary
from techscore.policy.spec import PolicySpec, load_policy, policy_path

__all__ = ["BASELINE", "PolicySpec", "book_curve", "cutoff_table", "load_book", "load_policy", "policy_path",
           "policy_summary"]
