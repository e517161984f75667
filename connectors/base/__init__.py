"""The connector contract: what every vendor package declares and implements."""
