"""Signalen (melding openbare ruimte): wire types, the HTTP client and the neutral ReportService.

Actions import from `reports` (ReportService, Report, ReportLocation, Reporter, ReportState,
ReportInvalid, choose_category); `client` and `types` are the wire layer.
"""
