"""labelwise.server"""
