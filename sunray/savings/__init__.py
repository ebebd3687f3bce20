"""The power, money and CO2 savings calculator for customer proposals."""
