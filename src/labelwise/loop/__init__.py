"""labelwise.loop"""
