"""labelwise.strategies"""
