"""labelwise.noise"""
