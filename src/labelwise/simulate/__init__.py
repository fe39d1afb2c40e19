"""labelwise.simulate"""
