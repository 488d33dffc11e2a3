"""techscore: credit-risk scoring for technology SMEs."""

__version__ = "0.1.0"
